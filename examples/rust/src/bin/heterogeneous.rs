//! Heterogeneous CPUs: an AMD host is refused with the reason; a host of another Intel
//! model joins only when forced, and the pool's CPU features are levelled down.
use xenpool::pool::{OpOptions, ValidateOptions, join, validate_join};
use xenpool_examples::{access, connect, lab};

#[tokio::main]
async fn main() -> xenpool::Result<()> {
    let sim = lab().await;
    let pool = connect(&sim, "intel1").await?;
    match join(&pool, &access(&sim, "amd1"), false, &OpOptions::default()).await {
        Err(e) => println!("amd1 refused: {e}"),
        Ok(_) => println!("amd1 joined?!"),
    }
    let old = access(&sim, "intel-old");
    let report = validate_join(
        &pool,
        &old.url,
        &old.credentials,
        &ValidateOptions {
            connect: old.options.clone(),
            ..Default::default()
        },
    )
    .await?;
    let h = &report.heterogeneous;
    println!(
        "intel-old: {} vs {}; levelling possible: {}; HVM feature bits lost: {}",
        h.candidate_model,
        h.pool_model,
        h.levelling_possible,
        h.hvm_features_lost.len()
    );
    let outcome = join(&pool, &old, true, &OpOptions::default()).await?;
    println!("intel-old force-joined: {}", outcome.executed);
    pool.close().await
}
