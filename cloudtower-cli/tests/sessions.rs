//! Signing in, stored sessions, and what a refused session means.

use crate::common;

use cloudtower_mock::{MOCK_PASSWORD, MOCK_USERNAME};
use common::Cli;
use predicates::str::contains;

#[tokio::test]
async fn login_stores_the_profile_and_a_session_readable_by_its_owner_only() {
    let cli = Cli::new().await;
    cli.login(&[]).success().stderr(contains("signed in to"));
    let config = std::fs::read_to_string(cli.config_dir().join("config.toml")).unwrap();
    assert!(
        config.contains(&cli.tower.url()) && config.contains(MOCK_USERNAME),
        "{config}"
    );
    assert!(!config.contains(MOCK_PASSWORD), "no secret in config.toml");
    let credentials = std::fs::read_to_string(cli.credentials_file()).unwrap();
    assert!(credentials.contains("token"), "{credentials}");
    assert!(
        !credentials.contains(MOCK_PASSWORD),
        "the password is kept only when asked"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(cli.credentials_file())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // Later commands use the stored session: no login request.
    let logins = cli.tower.request_count("login");
    cli.cmd(&["vm", "list"]).assert().success();
    assert_eq!(cli.tower.request_count("login"), logins);

    cli.cmd(&["logout"]).assert().success();
    cli.cmd(&["vm", "list"])
        .assert()
        .code(3)
        .stderr(contains("not signed in"));
}

#[tokio::test]
async fn profiles_keep_towers_apart() {
    let cli = Cli::signed_in().await;
    let other = cloudtower_mock::MockTower::start().await.unwrap();
    let url = other.url();
    cli.cmd(&[
        "login",
        "--profile",
        "lab",
        "--endpoint",
        &url,
        "--username",
        MOCK_USERNAME,
        "--password-stdin",
    ])
    .write_stdin(format!("{MOCK_PASSWORD}\n"))
    .assert()
    .success()
    .stderr(contains("profile `lab`"));
    let before = other.request_count("get-vms");
    cli.cmd(&["--profile", "lab", "vm", "list"])
        .assert()
        .success();
    assert_eq!(other.request_count("get-vms"), before + 1);
    let profiles = cli.stdout(&["profiles"]);
    insta::assert_snapshot!(
        "profiles",
        // Same-length stand-ins for the ports (ephemeral ports have five digits).
        profiles
            .replace(&cli.tower.url(), "http://127.0.0.1:PORTA")
            .replace(&url, "http://127.0.0.1:PORTB")
    );
    let default_before = cli.tower.request_count("get-vms");
    cli.cmd(&["vm", "list"])
        .env("CLOUDTOWER_PROFILE", "default")
        .assert()
        .success();
    assert_eq!(cli.tower.request_count("get-vms"), default_before + 1);
}

#[tokio::test]
async fn a_wrong_password_exits_3_and_stores_nothing() {
    let cli = Cli::new().await;
    let url = cli.tower.url();
    cli.cmd(&[
        "login",
        "--endpoint",
        &url,
        "--username",
        MOCK_USERNAME,
        "--password",
        "wrong",
    ])
    .assert()
    .code(3)
    .stderr(contains("login refused"));
    assert!(!cli.credentials_file().exists());
}

#[tokio::test]
async fn without_a_session_or_credentials_commands_exit_3() {
    let cli = Cli::new().await;
    let url = cli.tower.url();
    cli.cmd(&["--endpoint", &url, "vm", "list"])
        .assert()
        .code(3)
        .stderr(contains("not signed in"));
    // Credentials from the environment work without a stored session.
    cli.cmd(&["vm", "list"])
        .env("CLOUDTOWER_ENDPOINT", &url)
        .env("CLOUDTOWER_USERNAME", MOCK_USERNAME)
        .env("CLOUDTOWER_PASSWORD", MOCK_PASSWORD)
        .assert()
        .success();
}

#[tokio::test]
async fn an_expired_session_without_a_stored_password_asks_for_login() {
    let cli = Cli::signed_in().await;
    cli.tower.expire_sessions();
    cli.cmd(&["vm", "list"])
        .assert()
        .code(3)
        .stderr(contains("run `cloudtower login` again"));
}

#[tokio::test]
async fn an_expired_session_with_a_stored_password_logs_in_again_and_keeps_the_new_token() {
    let cli = Cli::new().await;
    cli.login(&["--save-password"]).success();
    let first = std::fs::read_to_string(cli.credentials_file()).unwrap();
    cli.tower.expire_sessions();
    cli.cmd(&["vm", "list"]).assert().success();
    let second = std::fs::read_to_string(cli.credentials_file()).unwrap();
    assert_ne!(first, second, "the new session is stored");
    // And it is the one used next: no further login.
    let logins = cli.tower.request_count("login");
    cli.cmd(&["vm", "list"]).assert().success();
    assert_eq!(cli.tower.request_count("login"), logins);
}

#[tokio::test]
async fn api_keys_sign_in_without_a_password() {
    let cli = Cli::new().await;
    cli.tower.add_api_key("key-123");
    let url = cli.tower.url();
    cli.cmd(&["login", "--endpoint", &url, "--api-key", "key-123"])
        .assert()
        .success()
        .stderr(contains("an API key"));
    cli.cmd(&["vm", "list"]).assert().success();
    cli.cmd(&["login", "--endpoint", &url, "--api-key", "nope"])
        .assert()
        .code(3);
}

#[tokio::test]
async fn without_a_usable_keyring_the_session_goes_to_the_owner_only_file() {
    let cli = Cli::new().await;
    // The keyring is tried (as by default) but its D-Bus session bus is not there.
    cli.login_to(&cli.tower.url(), &[])
        .env_remove("CLOUDTOWER_KEYRING")
        .env(
            "DBUS_SESSION_BUS_ADDRESS",
            "unix:path=/nonexistent/cloudtower-test-bus",
        )
        .assert()
        .success();
    let credentials = std::fs::read_to_string(cli.credentials_file()).unwrap();
    assert!(credentials.contains("token"), "{credentials}");
    cli.cmd(&["vm", "list"]).assert().success();
}

#[tokio::test]
async fn an_active_passive_pair_is_served_by_its_active_tower() {
    let pair = cloudtower_mock::MockTower::start_pair().await.unwrap();
    let cli = Cli::new().await;
    let [first, second] = pair.urls();
    // The passive one first: the client finds the active one and never follows a redirect.
    pair.switch_over();
    cli.login_to(&format!("{first},{second}"), &[])
        .assert()
        .success();
    let config = std::fs::read_to_string(cli.config_dir().join("config.toml")).unwrap();
    assert!(
        config.contains(&first) && config.contains(&second),
        "{config}"
    );
    let before = pair.tower(1).request_count("get-vms");
    cli.cmd(&["vm", "list"]).assert().success();
    assert_eq!(pair.tower(1).request_count("get-vms"), before + 1);
    assert_eq!(pair.tower(0).request_count("get-vms"), 0);
}
