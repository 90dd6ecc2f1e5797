//! The hand-written helpers' pure parts: a VM console's URLs from `get-vm-vnc-info`
//! (`vnc`), the change feed's revision arithmetic (`watch`).

mod vnc {
    use cloudtower_api::models::{NestedHost, Vm, VmVncInfo};
    use cloudtower_api::vnc::vnc_console;
    use cloudtower_api::Error;

    fn info() -> VmVncInfo {
        VmVncInfo {
            vm: Vm {
                local_id: "00000000-0000-0000-0000-000000000001".into(),
                host: Some(NestedHost {
                    management_ip: "192.0.2.4".into(),
                    ..Default::default()
                }),
                ..Default::default()
            },
            redirect: "YWJj/+d=".into(),
            direct: Some("1a2b".into()),
            cluster_ip: "192.0.2.2".into(),
            terminal: String::new(),
        }
    }

    #[test]
    fn scheme_follows_the_endpoint_and_the_token_is_escaped() {
        let console = vnc_console("https://tower.example.com/v2/api", info()).unwrap();
        assert_eq!(
            console.url,
            "wss://tower.example.com/websockify/?uuid=00000000-0000-0000-0000-000000000001\
             &token=YWJj%2F%2Bd%3D&host=192.0.2.4"
        );
        assert_eq!(
            console.direct_url.as_deref(),
            Some(
                "wss://192.0.2.2/websockify/?uuid=00000000-0000-0000-0000-000000000001\
                 &token=1a2b&host=192.0.2.4"
            )
        );
        let plain = vnc_console("http://127.0.0.1:8080/prefix/v2/api", info()).unwrap();
        assert!(
            plain
                .url
                .starts_with("ws://127.0.0.1:8080/prefix/websockify/?uuid="),
            "{}",
            plain.url
        );
    }

    #[test]
    fn an_ipv6_cluster_ip_is_bracketed_and_a_hostname_is_kept() {
        let mut v6 = info();
        v6.cluster_ip = "2001:db8::2".into();
        let console = vnc_console("https://tower.example.com", v6).unwrap();
        assert!(
            console
                .direct_url
                .as_deref()
                .unwrap()
                .starts_with("wss://[2001:db8::2]/websockify/?"),
            "{:?}",
            console.direct_url
        );
        let mut named = info();
        named.cluster_ip = "cluster-1.example.com".into();
        let console = vnc_console("https://tower.example.com", named).unwrap();
        assert!(console
            .direct_url
            .unwrap()
            .starts_with("wss://cluster-1.example.com/websockify/?"));
    }

    #[test]
    fn a_cluster_ip_that_is_not_a_host_is_a_protocol_error() {
        for hostile in [
            "evil.example.com/steal?x=",
            "user:pass@evil.example.com",
            "192.0.2.2:8443",
            "evil.example.com#",
            "a b",
            "[evil.example.com]",
            "-leading.example.com",
        ] {
            let mut bad = info();
            bad.cluster_ip = hostile.into();
            let err = vnc_console("https://tower.example.com", bad).unwrap_err();
            assert!(
                matches!(&err, Error::Protocol { reason, .. } if reason.contains("cluster_ip")),
                "{hostile}: {err:?}"
            );
        }
    }

    #[test]
    fn debug_output_hides_the_console_tokens() {
        let console = vnc_console("https://tower.example.com/v2/api", info()).unwrap();
        let debug = format!("{console:?}");
        assert!(!debug.contains("YWJj"), "{debug}");
        assert!(!debug.contains("1a2b"), "{debug}");
        assert!(debug.contains("tower.example.com"), "{debug}");
    }
}

mod watch {
    use std::cmp::Ordering;

    use cloudtower_api::watch::{compare_revisions, next_revision};

    #[test]
    fn revisions_are_decimal_numbers_of_any_length() {
        assert_eq!(next_revision("1999").as_deref(), Some("2000"));
        assert_eq!(next_revision("9").as_deref(), Some("10"));
        assert_eq!(
            next_revision("18446744073709551615").as_deref(),
            Some("18446744073709551616")
        );
        assert_eq!(next_revision("12a"), None);
        assert_eq!(next_revision(""), None);
        assert_eq!(compare_revisions("10", "9"), Ordering::Greater);
        assert_eq!(compare_revisions("0010", "10"), Ordering::Equal);
        assert_eq!(compare_revisions("123", "124"), Ordering::Less);
    }
}
