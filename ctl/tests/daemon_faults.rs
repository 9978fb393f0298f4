//! Faults the daemon must survive or refuse cleanly: a corrupt configuration file is refused
//! with a clear message and kept as it is; a SIGKILL between configuration changes leaves the
//! old or the new configuration, never a mix; a port's device vanishing under it.

#![allow(clippy::unwrap_used)]

mod common;
use common::{veth, Daemon, Netns};

#[test]
fn corrupt_config_is_refused_and_kept() {
    if !common::require_root("corrupt_config_is_refused_and_kept") {
        return;
    }
    let ns = Netns::new("ffc");
    let dir = std::env::temp_dir().join(common::unique("ferrovs-corrupt-"));
    std::fs::create_dir_all(&dir).unwrap();
    let db = dir.join("conf.json");
    std::fs::write(&db, "{\"format\": 1, \"bridges\": {\"br0\": ").unwrap();
    let out = ns.exec(&[
        common::bin("ferrovsd").to_str().unwrap(),
        "--rundir",
        dir.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
    ]);
    assert!(!out.status.success(), "ferrovsd must refuse a corrupt configuration");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("corrupt configuration") && err.contains("kept"), "clear message: {err}");
    assert_eq!(std::fs::read_to_string(&db).unwrap(), "{\"format\": 1, \"bridges\": {\"br0\": ", "file untouched");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn sigkill_between_changes_leaves_a_whole_configuration() {
    if !common::require_root("sigkill_between_changes_leaves_a_whole_configuration") {
        return;
    }
    let ns = Netns::new("ffk");
    let mut d = Daemon::start(&ns);
    // Changes in a loop; a kill lands somewhere among them.
    for i in 0..20 {
        d.cli(&["add-br", &format!("kb{i}")]);
    }
    d.kill();
    let text = std::fs::read_to_string(d.db()).unwrap();
    let cfg: serde_json::Value = serde_json::from_str(&text).expect("a whole JSON document");
    assert_eq!(cfg["bridges"].as_object().unwrap().len(), 20);
    assert!(
        !d.db().with_extension("json.tmp").exists()
            || serde_json::from_str::<serde_json::Value>(
                &std::fs::read_to_string(d.db().with_extension("json.tmp")).unwrap_or_default()
            )
            .is_ok()
    );
    d.spawn();
    assert_eq!(d.cli(&["list-br"]).lines().count(), 20, "restored");
}

#[test]
fn port_device_deleted_under_the_switch() {
    if !common::require_root("port_device_deleted_under_the_switch") {
        return;
    }
    let sw = Netns::new("ffs");
    let vm = Netns::new("ffv");
    let (p, v) = (common::unique("sp"), common::unique("vp"));
    veth(&sw, &p, &vm, &v);
    let d = Daemon::start(&sw);
    d.cli(&["add-br", "br0", "--", "add-port", "br0", &p]);
    sw.sh(&["ip", "link", "del", &p]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    // Still serving, still consistent.
    assert!(d.cli(&["list-ports", "br0"]).contains(&p));
    let stats = d.cli(&["appctl", "pmd-stats-show"]);
    assert!(stats.contains("packets received"), "{stats}");
    // And the port can be removed and the bridge keeps working.
    d.cli(&["del-port", "br0", &p]);
    assert!(d.cli(&["ofctl", "dump-flows", "br0"]).contains("actions=NORMAL"));
}

#[test]
fn bridge_macs_differ_between_hosts_and_survive_restarts() {
    if !common::require_root("bridge_macs_differ_between_hosts_and_survive_restarts") {
        return;
    }
    // Two "hosts" with the same bridge name, as every Neutron host has br-int and br-phy.
    let mac = |ns: &Netns| {
        let out = ns.sh(&["cat", "/sys/class/net/br-phy/address"]);
        out.trim().to_owned()
    };
    let (a, b) = (Netns::new("fma"), Netns::new("fmb"));
    let mut da = Daemon::start(&a);
    let db = Daemon::start(&b);
    da.cli(&["add-br", "br-phy"]);
    db.cli(&["add-br", "br-phy"]);
    let (mac_a, mac_b) = (mac(&a), mac(&b));
    assert_ne!(mac_a, mac_b, "two hosts' br-phy must not share a MAC");
    // The internal port goes with the daemon (its tap is not persistent) and comes back.
    da.kill();
    da.spawn();
    common::wait_for(
        std::time::Duration::from_secs(5),
        || a.exec(&["cat", "/sys/class/net/br-phy/address"]).status.success(),
        || da.log(),
    );
    assert_eq!(mac(&a), mac_a, "the MAC survives a restart");
}
