//! The mock as a production tower: health probes, an active/passive pair sharing one state,
//! `get-version`, `ResourceLocked` refusals and `entityAsyncStatus`, with raw HTTP (redirects
//! never followed).

use std::time::Duration;

use cloudtower_mock::{
    Fault, MockConfig, MockPair, MockTower, Role, MOCK_PASSWORD, MOCK_USERNAME, SPEC_VERSION,
};
use serde_json::{json, Value};

/// A client that never follows redirects, as an SDK must not.
fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Answer {
    status: u16,
    location: Option<String>,
    body: Value,
}

async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let location = response
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = response.json().await.unwrap_or(Value::Null);
    Answer {
        status,
        location,
        body,
    }
}

async fn post(url: &str, operation: &str, token: &str, body: Value) -> Answer {
    send(
        http()
            .post(format!("{url}/v2/api/{operation}"))
            .header("authorization", token)
            .json(&body),
    )
    .await
}

async fn get(url: &str, path: &str) -> Answer {
    send(http().get(format!("{url}{path}"))).await
}

async fn login(url: &str) -> String {
    let answer = post(
        url,
        "login",
        "",
        json!({"username": MOCK_USERNAME, "password": MOCK_PASSWORD}),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body["data"]["token"].as_str().unwrap().to_owned()
}

/// The VM named `name`, as `get-vms` answers it.
async fn vm(url: &str, token: &str, name: &str) -> Value {
    let answer = post(url, "get-vms", token, json!({"where": {"name": name}})).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    answer.body[0].clone()
}

fn async_status(vm: &Value) -> Value {
    vm.get("entityAsyncStatus").cloned().unwrap_or(Value::Null)
}

fn config(task_ms: u64) -> MockConfig {
    MockConfig {
        task_duration: Duration::from_millis(task_ms),
        ..MockConfig::default()
    }
}

#[tokio::test]
async fn a_lone_tower_is_active_and_answers_healthz_200() {
    let tower = MockTower::start().await.unwrap();
    assert_eq!(tower.role(), Role::Active);
    let answer = get(&tower.url(), "/api/healthz").await;
    assert_eq!(answer.status, 200);
    assert_eq!(tower.healthz_count(), 1);
    assert!(tower.requests().is_empty(), "probes are not API calls");

    // Made passive, it redirects to itself by default, or where it is told.
    tower.set_role(Role::Passive);
    let answer = get(&tower.url(), "/api/healthz").await;
    assert_eq!((answer.status, answer.location), (307, Some(tower.url())));
    tower.set_passive_location(Some("http://canary.invalid:1"));
    let answer = post(&tower.url(), "get-vms", "", json!({})).await;
    assert_eq!(answer.status, 307);
    assert_eq!(answer.location.as_deref(), Some("http://canary.invalid:1"));
}

#[tokio::test]
async fn get_version_answers_the_configured_version_or_404() {
    let tower = MockTower::start().await.unwrap();
    // No authentication needed; a bare JSON string.
    let answer = get(&tower.url(), "/v2/api/get-version").await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, json!(SPEC_VERSION));

    let tower = MockTower::start_with(MockConfig {
        version: Some("3.4.1".into()),
        ..MockConfig::default()
    })
    .await
    .unwrap();
    assert_eq!(
        get(&tower.url(), "/v2/api/get-version").await.body,
        json!("3.4.1")
    );

    let old = MockTower::start_with(MockConfig {
        version: None,
        ..MockConfig::default()
    })
    .await
    .unwrap();
    let answer = get(&old.url(), "/v2/api/get-version").await;
    assert_eq!(answer.status, 404);
    assert_eq!(old.request_count("get-version"), 1);
}

/// [`SPEC_VERSION`] is the version in `spec/pin.json` (checked when the workspace is there).
#[test]
fn spec_version_is_the_pinned_one() {
    let pin = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../spec/pin.json");
    let Ok(text) = std::fs::read_to_string(pin) else {
        return;
    };
    let pin: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(pin["version"], json!(SPEC_VERSION));
}

#[tokio::test]
async fn a_pair_has_one_active_tower_and_the_passive_one_redirects() {
    let pair = MockTower::start_pair().await.unwrap();
    let [first, second] = pair.urls();
    assert_ne!(first, second);
    assert_eq!(pair.roles(), [Role::Active, Role::Passive]);
    assert_eq!(
        (pair.active_url(), pair.passive_url()),
        (first.clone(), second.clone())
    );

    assert_eq!(get(&first, "/api/healthz").await.status, 200);
    let answer = get(&second, "/api/healthz").await;
    assert_eq!((answer.status, answer.location), (307, Some(first.clone())));
    get(&second, "/api/healthz").await;
    assert_eq!(pair.healthz_counts(), [1, 2]);

    // A token from the active tower; the passive one refuses even login and get-version.
    let token = login(&first).await;
    let answer = post(&second, "login", "", json!({})).await;
    assert_eq!((answer.status, answer.location), (307, Some(first.clone())));
    assert_eq!(get(&second, "/v2/api/get-version").await.status, 307);

    // A mutation sent to the passive tower is not executed.
    let answer = post(
        &second,
        "shutdown-vm",
        &token,
        json!({"where": {"name": "web-1"}}),
    )
    .await;
    assert_eq!(answer.status, 307);
    assert_eq!(answer.location.as_deref(), Some(first.as_str()));
    assert_eq!(answer.body, Value::Null, "no body to follow");
    assert_eq!(
        pair.tower(1).requests(),
        ["login", "get-version", "shutdown-vm"]
    );
    assert_eq!(
        pair.tower(1).recorded_requests()[2].body,
        json!({"where": {"name": "web-1"}})
    );
    assert_eq!(pair.tower(0).request_count("shutdown-vm"), 0);
    assert!(pair.tower(0).requests().iter().all(|r| r != "shutdown-vm"));
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        vm(&first, &token, "web-1").await["status"],
        json!("RUNNING")
    );
    let tasks = post(&first, "get-tasks", &token, json!({})).await;
    assert_eq!(tasks.body, json!([]), "no task was created");

    // The Location can point at a canary, never to be contacted.
    pair.set_passive_location(Some("http://127.0.0.1:9/canary"));
    let answer = post(&second, "get-vms", &token, json!({})).await;
    assert_eq!(
        answer.location.as_deref(),
        Some("http://127.0.0.1:9/canary")
    );
    let answer = get(&second, "/api/healthz").await;
    assert_eq!(
        answer.location.as_deref(),
        Some("http://127.0.0.1:9/canary")
    );
    pair.set_passive_location(None);
    let answer = get(&second, "/api/healthz").await;
    assert_eq!(answer.location, Some(first));
}

#[tokio::test]
async fn switch_over_swaps_the_roles_and_keeps_the_state_and_sessions() {
    let pair = MockTower::start_pair_with(config(20)).await.unwrap();
    let [first, second] = pair.urls();
    let token = login(&first).await;
    let answer = post(
        &first,
        "update-vm-basic-info",
        &token,
        json!({"where": {"name": "web-2"}, "data": {"description": "before the switch"}}),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    tokio::time::sleep(Duration::from_millis(100)).await;

    pair.switch_over();
    assert_eq!(pair.roles(), [Role::Passive, Role::Active]);
    assert_eq!(
        (pair.active_url(), pair.passive_url()),
        (second.clone(), first.clone())
    );
    assert_eq!(
        pair.urls(),
        [first.clone(), second.clone()],
        "a stable order"
    );
    assert_eq!(get(&first, "/api/healthz").await.status, 307);
    assert_eq!(get(&second, "/api/healthz").await.status, 200);
    let answer = post(&first, "get-vms", &token, json!({})).await;
    assert_eq!(
        (answer.status, answer.location),
        (307, Some(second.clone()))
    );

    // The same token works on the new active tower, which sees the same inventory.
    let web2 = vm(&second, &token, "web-2").await;
    assert_eq!(web2["description"], json!("before the switch"));
    assert_eq!(pair.tower(1).request_count("get-vms"), 1);

    // Back, with sessions ended by the switch.
    pair.switch_over_with_new_sessions();
    assert_eq!(pair.active_url(), first);
    let answer = post(&first, "get-vms", &token, json!({})).await;
    assert_eq!(answer.status, 401);
    let token = login(&first).await;
    assert_eq!(
        vm(&first, &token, "web-2").await["description"],
        json!("before the switch")
    );
}

#[tokio::test]
async fn set_roles_makes_both_towers_passive_or_both_active() {
    let pair = MockPair::start().await.unwrap();
    let [first, second] = pair.urls();

    pair.set_roles(Role::Passive, Role::Passive);
    assert!(pair.active().is_none() && pair.passive().is_none());
    let answers = [
        get(&first, "/api/healthz").await,
        get(&second, "/api/healthz").await,
    ];
    assert_eq!(answers[0].status, 307);
    assert_eq!(answers[0].location.as_deref(), Some(second.as_str()));
    assert_eq!(answers[1].status, 307);
    assert_eq!(answers[1].location.as_deref(), Some(first.as_str()));
    // A switch-over of two passive towers leaves them passive.
    pair.switch_over();
    assert_eq!(pair.roles(), [Role::Passive, Role::Passive]);

    pair.set_roles(Role::Active, Role::Active);
    assert_eq!(get(&first, "/api/healthz").await.status, 200);
    assert_eq!(get(&second, "/api/healthz").await.status, 200);
    assert_eq!(pair.healthz_counts(), [2, 2]);
    let token = login(&first).await;
    assert_eq!(
        post(&second, "get-vms", &token, json!({})).await.status,
        200
    );

    // One tower at a time, too.
    pair.set_roles(Role::Active, Role::Passive);
    pair.tower(0).set_role(Role::Passive);
    pair.tower(1).set_role(Role::Active);
    assert_eq!(pair.active_url(), second);
    pair.shutdown().await;
}

#[tokio::test]
async fn resource_locked_refuses_n_calls_before_any_effect_then_succeeds() {
    let tower = MockTower::start_with(config(20)).await.unwrap();
    let url = tower.url();
    let token = login(&url).await;
    let web1 = vm(&url, &token, "web-1").await;
    let id = web1["id"].as_str().unwrap().to_owned();
    tower.set_fault("shutdown-vm", Fault::new().locked_rate(1.0).times(2));

    for _ in 0..2 {
        let answer = post(
            &url,
            "shutdown-vm",
            &token,
            json!({"where": {"name": "web-1"}}),
        )
        .await;
        assert_eq!(answer.status, 400);
        assert_eq!(answer.body["code"], json!("ResourceLocked"));
        assert_eq!(
            answer.body["props"]["locked_resources"],
            json!([{"id": id, "type": "Vm"}]),
            "names the VM the `where` selects"
        );
    }
    tokio::time::sleep(Duration::from_millis(60)).await;
    assert_eq!(vm(&url, &token, "web-1").await["status"], json!("RUNNING"));
    assert_eq!(
        post(&url, "get-tasks", &token, json!({})).await.body,
        json!([])
    );

    let answer = post(
        &url,
        "shutdown-vm",
        &token,
        json!({"where": {"name": "web-1"}}),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(tower.request_count("shutdown-vm"), 3);

    // Always refused, naming a given resource.
    tower.set_fault(
        "start-vm",
        Fault::new()
            .locked_rate(1.0)
            .locked_resource("Host", "host-7"),
    );
    for _ in 0..3 {
        let answer = post(
            &url,
            "start-vm",
            &token,
            json!({"where": {"name": "web-2"}}),
        )
        .await;
        assert_eq!(answer.status, 400);
        assert_eq!(
            answer.body["props"]["locked_resources"],
            json!([{"id": "host-7", "type": "Host"}])
        );
    }
}

#[tokio::test]
async fn entity_async_status_shows_while_a_task_runs_and_locks_when_asked() {
    let tower = MockTower::start_with(config(1000)).await.unwrap();
    let url = tower.url();
    let token = login(&url).await;
    assert_eq!(async_status(&vm(&url, &token, "web-2").await), Value::Null);

    let update = json!({"where": {"name": "web-2"}, "data": {"description": "changed"}});
    let answer = post(&url, "update-vm-basic-info", &token, update.clone()).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let id = answer.body[0]["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        async_status(&vm(&url, &token, "web-2").await),
        json!("UPDATING")
    );
    // Without locking (the default), a second mutation is accepted meanwhile.
    let answer = post(&url, "update-vm-basic-info", &token, update.clone()).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);

    tokio::time::sleep(Duration::from_millis(1300)).await;
    let web2 = vm(&url, &token, "web-2").await;
    assert_eq!(async_status(&web2), Value::Null);
    assert_eq!(web2["description"], json!("changed"));

    // With locking, a mutation of a VM a task is changing is refused, before any effect.
    tower.set_lock_resources_during_tasks(true);
    let answer = post(&url, "update-vm-basic-info", &token, update.clone()).await;
    assert_eq!(answer.status, 200);
    let refused = json!({"where": {"id": id}, "data": {"description": "refused"}});
    let answer = post(&url, "update-vm-basic-info", &token, refused.clone()).await;
    assert_eq!(answer.status, 400, "{:?}", answer.body);
    assert_eq!(answer.body["code"], json!("ResourceLocked"));
    assert_eq!(
        answer.body["props"]["locked_resources"],
        json!([{"id": id, "type": "Vm"}])
    );
    // Reads and other VMs are not locked.
    assert_eq!(
        async_status(&vm(&url, &token, "web-2").await),
        json!("UPDATING")
    );
    let other = json!({"where": {"name": "db-1"}, "data": {"description": "free"}});
    assert_eq!(
        post(&url, "update-vm-basic-info", &token, other)
            .await
            .status,
        200
    );

    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(async_status(&vm(&url, &token, "web-2").await), Value::Null);
    let answer = post(&url, "update-vm-basic-info", &token, refused).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(
        vm(&url, &token, "web-2").await["description"],
        json!("refused")
    );
}

#[tokio::test]
async fn a_created_vm_is_creating_until_its_task_ends() {
    let tower = MockTower::start_with(config(1000)).await.unwrap();
    let url = tower.url();
    let token = login(&url).await;
    let cluster = post(&url, "get-clusters", &token, json!({})).await.body[0]["id"].clone();
    let answer = post(
        &url,
        "create-vm",
        &token,
        json!([{
            "cluster_id": cluster, "name": "new-vm", "cpu_cores": 1, "cpu_sockets": 1,
            "memory": 1073741824, "ha": false, "vcpu": 1, "status": "STOPPED",
            "firmware": "BIOS", "vm_disks": {}, "vm_nics": []
        }]),
    )
    .await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    assert_eq!(
        async_status(&vm(&url, &token, "new-vm").await),
        json!("CREATING")
    );
    tokio::time::sleep(Duration::from_millis(1300)).await;
    assert_eq!(async_status(&vm(&url, &token, "new-vm").await), Value::Null);
}
