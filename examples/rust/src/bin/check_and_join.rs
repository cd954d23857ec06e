//! Check a host before it joins — every problem at once — then join it.
use xenpool::pool::{OpOptions, ValidateOptions, join, validate_join};
use xenpool_examples::{access, connect, lab};

#[tokio::main]
async fn main() -> xenpool::Result<()> {
    let sim = lab().await;
    let pool = connect(&sim, "intel1").await?;
    for name in ["busy", "intel2"] {
        let candidate = access(&sim, name);
        let report = validate_join(
            &pool,
            &candidate.url,
            &candidate.credentials,
            &ValidateOptions {
                connect: candidate.options.clone(),
                ..Default::default()
            },
        )
        .await?;
        println!("{report}");
        match report.predicted_failure(false) {
            Some((code, params)) => {
                println!("{name}: a join would fail with {} {params:?}", code.wire())
            }
            None => {
                let outcome = join(&pool, &candidate, false, &OpOptions::default()).await?;
                println!("{name} joined; {}", outcome.notes.join("; "));
            }
        }
    }
    pool.close().await
}
