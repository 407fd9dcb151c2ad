use super::*;
use crate::build::test_support::{EXTERNAL, MINIMAL, cluster, parse};
use ferromq_election::NodeState;
use fixtures::{election, node};

#[test]
fn managed_reads_the_client_service_external_its_connect_string() {
    let managed = parse(MINIMAL);
    assert_eq!(
        Location::of(&cluster(&managed)),
        Location {
            connect: "orders-zookeeper.shop.svc:2181".into(),
            path: "/ferromq/shop/orders".into(),
        }
    );
    let external = parse(EXTERNAL);
    assert_eq!(
        Location::of(&cluster(&external)),
        Location {
            connect: "zk-0.zk.infra:2181,zk-1.zk.infra:2181".into(),
            path: "/brokers/orders".into(),
        }
    );
}

#[test]
fn lag_is_counted_from_the_master_record() {
    let e = election(
        "orders-0",
        3,
        [
            node("orders-0", NodeState::Master, 3, 10),
            node("orders-1", NodeState::Replica, 3, 7),
            node("orders-2", NodeState::Replica, 3, 12),
        ],
    );
    assert_eq!(e.lag(&e.nodes["orders-1"]), Some(3));
    // Ahead of the master's last published position is not negative lag.
    assert_eq!(e.lag(&e.nodes["orders-2"]), Some(0));
    let leaderless = Election {
        master: None,
        ..e.clone()
    };
    assert_eq!(leaderless.lag(&e.nodes["orders-1"]), None);
}
