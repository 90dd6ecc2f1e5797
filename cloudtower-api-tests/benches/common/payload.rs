//! The deterministic `get-vms` payload shared by the benches (and by `bench/progenitor`, which
//! includes this file by path, so it needs nothing but `serde_json`).
#![allow(dead_code)]

use serde_json::{json, Value};

/// A small, stable PRNG (SplitMix64): the payload is the same on every machine and run.
pub struct Rng {
    state: u64,
    // `maybe` gives a value at least this often (percent).
    present_at_least: u64,
}

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng {
            state: seed,
            present_at_least: 0,
        }
    }
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// In `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    pub fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    pub fn float(&mut self) -> f64 {
        // Two decimals, as the tower's usage figures come.
        (self.below(10_000) as f64) / 100.0
    }
    /// A CloudTower-style id (a 25-character cuid: `cl` + 23 base-36 characters).
    pub fn cuid(&mut self) -> String {
        const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        let mut id = String::with_capacity(25);
        id.push_str("cl");
        for _ in 0..23 {
            id.push(ALPHABET[self.below(36) as usize] as char);
        }
        id
    }
    pub fn uuid(&mut self) -> String {
        let a = self.next_u64();
        let b = self.next_u64();
        format!(
            "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xffff,
            b >> 48,
            b & 0xffff_ffff_ffff
        )
    }
    pub fn timestamp(&mut self) -> String {
        format!(
            "202{}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            3 + self.below(3),
            1 + self.below(12),
            1 + self.below(28),
            self.below(24),
            self.below(60),
            self.below(60),
            self.below(1000)
        )
    }
    pub fn ip(&mut self) -> String {
        format!(
            "10.{}.{}.{}",
            self.below(4),
            self.below(256),
            1 + self.below(254)
        )
    }
    /// `value` in `percent`% of the cases, else `null`.
    pub fn maybe(&mut self, percent: u64, value: impl FnOnce(&mut Rng) -> Value) -> Value {
        if self.chance(percent.max(self.present_at_least)) {
            value(self)
        } else {
            Value::Null
        }
    }
}

const LABEL_KEYS: [&str; 6] = ["env", "team", "app", "tier", "owner", "cost-center"];

fn named(rng: &mut Rng, name: String) -> Value {
    json!({ "id": rng.cuid(), "name": name })
}

fn named_list(rng: &mut Rng, prefix: &str, max: u64) -> Value {
    let n = rng.below(max + 1);
    Value::Array(
        (0..n)
            .map(|i| named(rng, format!("{prefix}-{i}")))
            .collect(),
    )
}

/// One VM as `get-vms` answers it: every property of the `Vm` schema present, nullable ones
/// `null` in part of the VMs, nested disks, NICs, labels, cluster and host.
pub fn vm(rng: &mut Rng, index: usize, clusters: &[Value], hosts: &[Value]) -> Value {
    let running = rng.chance(70);
    let linux = rng.chance(75);
    let disks = 1 + rng.below(4);
    let nics = 1 + rng.below(3);
    let labels = rng.below(6);
    let memory = (1u64 << (30 + rng.below(6))) as i64;
    let size = (rng.below(2000) as i64 + 20) << 30;
    let name = format!(
        "{}-{:05}",
        rng.pick(&["web", "db", "cache", "batch", "ci-runner", "k8s-node"]),
        index
    );
    json!({
        "backup_plans": rng.maybe(20, |r| named_list(r, "backup-plan", 2)),
        "bios_uuid": rng.maybe(90, |r| Value::String(r.uuid())),
        "clock_offset": if linux { "UTC" } else { "LOCALTIME" },
        "cloud_init_supported": rng.maybe(80, |r| Value::Bool(r.chance(60))),
        "cluster": if rng.chance(97) { clusters[index % clusters.len()].clone() } else { Value::Null },
        "cpu": { "cores": 1 + rng.below(4), "sockets": 1 + rng.below(2) },
        "cpu_model": rng.pick(&["cluster_default", "host_passthrough", "Skylake-Server-IBRS"]),
        "cpu_usage": rng.maybe(running as u64 * 95, Rng::float_value),
        "deleted_at": rng.maybe(2, |r| Value::String(r.timestamp())),
        "description": if rng.chance(40) { format!("managed by team {} \u{2014} ticket #{}", rng.below(40), rng.below(100_000)) } else { String::new() },
        "dns_servers": rng.maybe(50, |r| Value::String(format!("{}, {}", r.ip(), r.ip()))),
        "entityAsyncStatus": rng.maybe(3, |r| Value::from(r.pick(&["CREATING", "UPDATING", "DELETING"]))),
        "entity_filter_results": rng.maybe(30, |r| Value::Array((0..r.below(3)).map(|_| json!({"id": r.cuid()})).collect())),
        "firmware": if rng.chance(80) { "BIOS" } else { "UEFI" },
        "folder": rng.maybe(40, |r| { let n = format!("folder-{}", r.below(30)); named(r, n) }),
        "gpu_devices": rng.maybe(5, |r| named_list(r, "gpu", 2)),
        "guest_cpu_model": rng.maybe(60, |r| Value::from(r.pick(&["Intel(R) Xeon(R) Gold 6248R CPU @ 3.00GHz", "AMD EPYC 7742 64-Core Processor"]))),
        "guest_os_type": rng.maybe(85, |_| Value::from(if linux { "LINUX" } else { "WINDOWS" })),
        "guest_size_usage": rng.maybe(60, Rng::float_value),
        "guest_used_size": rng.maybe(60, |r| Value::from(r.below(size as u64))),
        "ha": rng.chance(80),
        "host": rng.maybe(if running { 100 } else { 30 }, |r| hosts[r.below(hosts.len() as u64) as usize].clone()),
        "hostname": rng.maybe(60, |_| Value::String(name.clone())),
        "id": rng.cuid(),
        "in_recycle_bin": rng.chance(2),
        "internal": rng.chance(3),
        "io_policy": rng.maybe(50, |r| Value::from(r.pick(&["RESTRICT_EACH_DISK", "RESTRICT_WHOLE_VM"]))),
        "ips": (0..nics).map(|_| rng.ip()).collect::<Vec<_>>().join(","),
        "isolation_policy": rng.maybe(10, |r| json!({"id": r.cuid()})),
        "kernel_info": rng.maybe(50, |r| Value::from(r.pick(&["5.15.0-91-generic", "4.18.0-513.el8.x86_64", "6.1.0-18-amd64"]))),
        "labels": Value::Array((0..labels).map(|i| json!({
            "id": rng.cuid(),
            "key": LABEL_KEYS[i as usize],
            "value": rng.maybe(85, |r| Value::from(r.pick(&["prod", "staging", "dev", "payments", "search", "frontend"]))),
        })).collect()),
        "last_shutdown_time": rng.maybe(40, |r| Value::String(r.timestamp())),
        "local_created_at": rng.maybe(95, |r| Value::String(r.timestamp())),
        "local_id": rng.uuid(),
        "logical_size_bytes": rng.maybe(80, |_| Value::from(size)),
        "max_bandwidth": rng.maybe(30, |r| Value::from(r.below(1000) as i64 * 1_048_576)),
        "max_bandwidth_policy": rng.maybe(30, |r| Value::from(r.pick(&["DYNAMIC", "FORCED"]))),
        "max_iops": rng.maybe(30, |r| Value::from(r.below(100_000))),
        "max_iops_policy": rng.maybe(30, |r| Value::from(r.pick(&["DYNAMIC", "FORCED"]))),
        "memory": memory,
        "memory_usage": rng.maybe(running as u64 * 95, Rng::float_value),
        "name": name,
        "nested_virtualization": rng.chance(5),
        "node_ip": rng.ip(),
        "original_name": rng.maybe(10, |r| Value::String(format!("template-{}", r.below(20)))),
        "os": rng.maybe(85, |r| Value::from(if linux { r.pick(&["Ubuntu 22.04.3 LTS", "CentOS Linux 7 (Core)", "Debian GNU/Linux 12 (bookworm)"]) } else { "Microsoft Windows Server 2019 Datacenter" })),
        "out_uninstall_usb": Value::Array((0..rng.below(2)).map(|_| Value::String(rng.cuid())).collect()),
        "pci_nics": rng.maybe(5, |r| named_list(r, "pci-nic", 2)),
        "protected": rng.chance(10),
        "provisioned_size": rng.maybe(90, |_| Value::from(size)),
        "size": rng.maybe(95, |_| Value::from(size)),
        "snapshot_plan": rng.maybe(20, |r| { let n = format!("daily-{}", r.below(10)); named(r, n) }),
        "snapshots": rng.maybe(60, |r| named_list(r, "snapshot", 4)),
        "status": if running { "RUNNING" } else { rng.pick(&["STOPPED", "STOPPED", "SUSPENDED", "UNKNOWN"]) },
        "unique_logical_size": rng.maybe(70, Rng::float_value),
        "unique_size": rng.maybe(70, |r| Value::from(r.below(size as u64))),
        "usb_devices": rng.maybe(5, |r| named_list(r, "usb", 1)),
        "used_size": rng.maybe(80, |r| Value::from(r.below(size as u64))),
        "used_size_usage": rng.maybe(80, Rng::float_value),
        "vcpu": 1 + rng.below(16),
        "video_type": rng.maybe(90, |r| Value::from(r.pick(&["CIRRUS", "QXL", "VGA", "VIRTIO"]))),
        "vm_disks": Value::Array((0..disks).map(|_| json!({"id": rng.cuid()})).collect()),
        "vm_nics": Value::Array((0..nics).map(|_| json!({"id": rng.cuid()})).collect()),
        "vm_placement_group": rng.maybe(15, |r| named_list(r, "placement-group", 1)),
        "vm_tools_status": if running && linux { "RUNNING" } else { rng.pick(&["NOT_INSTALLED", "NOT_RUNNING", "RESTRICTION"]) },
        "vm_tools_version": rng.maybe(60, |r| Value::String(format!("4.{}.{}", r.below(5), r.below(10)))),
        "vm_usage": rng.maybe(3, |r| Value::from(r.pick(&["CLOUDTOWER", "BACKUP_CONTROLLER", "SKS_MANAGEMENT", "REGISTRY"]))),
        "win_opt": !linux && rng.chance(70),
    })
}

impl Rng {
    fn float_value(&mut self) -> Value {
        Value::from(self.float())
    }
}

/// The `get-vms` answer with `count` VMs (on 8 clusters of 8 hosts), as the bytes a tower
/// sends: compact JSON, keys in schema order.
pub fn vms_payload(count: usize) -> Vec<u8> {
    vms_payload_with(count, 0)
}

/// Like [`vms_payload`], but every nullable property is set in at least `present_at_least`
/// percent of the VMs (real towers fill most of them; the peer bench uses 90).
pub fn vms_payload_with(count: usize, present_at_least: u64) -> Vec<u8> {
    let mut rng = Rng::new(0x00C1_0D70_3E55_0001);
    rng.present_at_least = present_at_least;
    let clusters: Vec<Value> = (0..8)
        .map(|i| named(&mut rng, format!("cluster-{i}")))
        .collect();
    let hosts: Vec<Value> = (0..64)
        .map(|i| {
            json!({
                "id": rng.cuid(),
                "management_ip": format!("192.168.{}.{}", i / 8, 10 + i % 8),
                "name": format!("node-{:02}-{}", i / 8, i % 8),
            })
        })
        .collect();
    let vms: Vec<Value> = (0..count)
        .map(|i| vm(&mut rng, i, &clusters, &hosts))
        .collect();
    serde_json::to_vec(&vms).expect("JSON")
}
