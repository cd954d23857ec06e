//! The owned, serialisable pool summaries every front end hands out, against the simulator.

mod support;

use xenpool::Connection;
use xenpool::generated::{Vm, VmPowerState};
use xenpool::pool::PoolSnapshot;

#[tokio::test]
async fn summaries_resolve_names_and_serialise() {
    let (_sim, url, credentials, options) = support::single_host().await;
    let c = Connection::login(&url, credentials, options).await.unwrap();
    let web = Vm::get_by_name_label(&c, "web").await.unwrap().remove(0);
    if Vm::get_power_state(&c, &web).await.unwrap() != VmPowerState::Running {
        Vm::start(&c, &web, false, false).await.unwrap();
    }
    let snap = PoolSnapshot::fetch(&c).await.unwrap();

    let pool = snap.pool_summary();
    assert_eq!(pool.coordinator, "xen1");
    assert_eq!(pool.hosts, ["xen1"]);
    assert_eq!(pool.reference, snap.pool_ref.as_str());

    let hosts = snap.host_summaries();
    assert_eq!(hosts.len(), 1);
    let host = &hosts[0];
    assert!(host.coordinator && host.live && host.enabled);
    assert!(host.memory_total >= host.memory_free && host.memory_free > 0);
    assert!(host.vms.contains(&"web".to_string()), "{:?}", host.vms);
    let mut sorted = host.vms.clone();
    sorted.sort();
    assert_eq!(host.vms, sorted);

    let vms = snap.vm_summaries();
    let names: Vec<&str> = vms.iter().map(|v| v.name.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "guests only, by name");
    let web = vms.iter().find(|v| v.name == "web").unwrap();
    assert_eq!(web.resident_on, "xen1", "the host's name, not its ref");
    assert_eq!(web.power_state, "Running");
    assert_eq!(web.memory, 2048 << 20);

    let srs = snap.sr_summaries();
    let local = srs.iter().find(|s| s.name == "Local storage").unwrap();
    assert_eq!(local.hosts, ["xen1"]);
    assert!(local.reaches_every_host);

    // Serialisable as they are, for any binding.
    let json = serde_json::to_value(host).unwrap();
    assert_eq!(json["coordinator"], true);
    assert_eq!(json["name"], "xen1");
    let json = serde_json::to_value(&pool).unwrap();
    assert_eq!(json["hosts"], serde_json::json!(["xen1"]));
    let json = serde_json::to_value(local).unwrap();
    assert_eq!(json["kind"], local.kind.as_str());
    c.logout().await.unwrap();
}
