//! Create a pool: a coordinator and two members, every member checked first.
use xenpool::pool::{PoolSnapshot, create_pool};
use xenpool_examples::{access, lab, progress};

#[tokio::main]
async fn main() -> xenpool::Result<()> {
    let sim = lab().await;
    let (pool, outcome) = create_pool(
        "production",
        "three Intel hosts",
        &access(&sim, "intel1"),
        &[access(&sim, "intel2"), access(&sim, "intel3")],
        false,
        &progress(),
    )
    .await?;
    println!("joined: {}", outcome.joined.join(", "));
    let snap = PoolSnapshot::fetch(&pool).await?;
    for h in snap.hosts() {
        println!(
            "{:<8} {:<12} coordinator={}",
            h.name(),
            h.record.address,
            h.is_coordinator()
        );
    }
    pool.close().await
}
