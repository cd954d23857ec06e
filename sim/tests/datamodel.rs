//! The generic store serves every class of the datamodel, the classes new in it included,
//! in the shapes the typed API decodes, over both protocols.

mod common;

use std::collections::HashMap;

use common::{PROTOCOLS, login, start};
use xenpool::generated::{PlacementPolicy, RateLimit, RateLimitRecord, VmGroup, VmGroupRecord};
use xenpool::meta::{self, Lifecycle};
use xenpool::{Caller, Connection, Ref};

/// Reads every object of every class that has `get_all_records` into its typed record, and
/// returns the classes read.
async fn read_every_class(c: &Connection) -> Vec<&'static str> {
    macro_rules! read_all {
        ($($wire:literal => $marker:ty, $record:ty;)*) => {{
            let mut read = Vec::new();
            $(
                // The generic store serves the implicit ones; removed classes answer
                // MESSAGE_REMOVED, as xapi does.
                if meta::message($wire, "get_all_records")
                    .is_some_and(|m| m.implicit && m.lifecycle != Lifecycle::Removed)
                {
                    let records: HashMap<Ref<$marker>, $record> = c
                        .call(concat!($wire, ".get_all_records"), true, vec![])
                        .await
                        .unwrap_or_else(|e| panic!("{}.get_all_records: {e}", $wire));
                    assert!(
                        records.keys().all(|r| r.as_str().starts_with("OpaqueRef:")),
                        "{}",
                        $wire
                    );
                    read.push($wire);
                }
            )*
            read
        }};
    }
    xenpool::for_each_record!(read_all)
}

#[tokio::test]
async fn every_class_with_records_is_served_typed() {
    let sim = start("single").await;
    for protocol in PROTOCOLS {
        let c = login(&sim, "xen1", protocol).await;
        let read = read_every_class(&c).await;
        for new_class in [
            "VM_group",
            "Rate_limit",
            "Caller",
            "Host_driver",
            "Driver_variant",
        ] {
            assert!(read.contains(&new_class), "{new_class} not read");
        }
        c.logout().await.unwrap();
    }
}

#[tokio::test]
async fn new_classes_are_created_and_read_back() {
    let sim = start("single").await;
    for protocol in PROTOCOLS {
        let c = login(&sim, "xen1", protocol).await;
        let group = VmGroup::create(
            &c,
            &VmGroupRecord {
                name_label: "anti-affine web".into(),
                placement: PlacementPolicy::AntiAffinity,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let record = VmGroup::get_record(&c, &group).await.unwrap();
        assert_eq!(record.name_label, "anti-affine web");
        assert_eq!(record.placement, PlacementPolicy::AntiAffinity);
        assert!(record.vms.is_empty());
        assert_eq!(VmGroup::get_by_uuid(&c, &record.uuid).await.unwrap(), group);

        let limit = RateLimit::create(
            &c,
            &RateLimitRecord {
                name_label: "automation".into(),
                burst_size: 50.0,
                fill_rate: 5.0,
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let all = RateLimit::get_all_records(&c).await.unwrap();
        assert_eq!(all[&limit].name_label, "automation");
        assert_eq!(all[&limit].burst_size, 50.0);
        RateLimit::destroy(&c, &limit).await.unwrap();
        VmGroup::destroy(&c, &group).await.unwrap();
        c.logout().await.unwrap();
    }
}
