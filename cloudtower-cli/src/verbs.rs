//! The resource verbs: `list`, `get`, `count`, `create`, `update`, `delete`, the actions
//! that take a resource selection (`start`, `shutdown`, …), and the workflows of the guide
//! (`snapshot`, `backup`, `vnc`, `upload`, `watch`). Each exists for a module only when the
//! spec has the operations it needs, found by the operations' kinds and names.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::{value_parser, Arg, ArgMatches};
use cloudtower_api::Client;
use cloudtower_schema::{OperationKind, OperationSchema, ResourceSchema, Ty};
use futures_util::StreamExt;
use heck::ToKebabCase;
use serde_json::{json, Map, Value};

use crate::body::{merge, object_type, parse_json, read_data, set_pair};
use crate::call::{self, Context};
use crate::dynamic::{self, DynItem, DynList};
use crate::failure::{Failure, Result};
use crate::output::Format;
use crate::schema::{api, field, fields, verb_operation};

/// A verb of a module, as the tree shows it and as it runs.
pub struct Verb {
    pub name: String,
    pub about: String,
    /// Takes the resources by id, local id or name (`ID|LOCAL_ID|NAME...`).
    pub keys: bool,
    /// Takes `--where` / `--where-json`.
    pub filter: bool,
    /// Takes the list flags (`--order-by`, `--first`, `--all`, …).
    pub list: bool,
    /// Takes `--set KEY=VALUE` and `--data` for an object of this type.
    pub set_type: Option<&'static str>,
    pub extra_args: Vec<Arg>,
    pub action: Action,
}

pub enum Action {
    List,
    Get,
    Count,
    Create(&'static OperationSchema, CreateShape),
    Update(&'static OperationSchema),
    Delete(&'static OperationSchema),
    /// An operation taking `{where, data?}` of this resource.
    Act(&'static OperationSchema),
    Snapshot(&'static OperationSchema),
    Backup(&'static OperationSchema, &'static ResourceSchema),
    Vnc,
    Upload,
    Watch,
}

/// How a create operation takes what it creates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CreateShape {
    /// `[params]` (the regular `create-*`).
    List,
    /// `{data: [params]}` or `{data: params}` (`create-vm-snapshot`).
    Data,
    /// The params themselves.
    Object,
}

/// The operation of the `create` verb: the regular one, else `create-<resource>` whatever
/// its shape.
fn create_operation(resource: &ResourceSchema) -> Option<(&'static OperationSchema, CreateShape)> {
    if let Some(create) = verb_operation(resource, "create", |k| {
        matches!(k, OperationKind::Create { .. })
    }) {
        return Some((create, CreateShape::List));
    }
    let create = api().operation(&format!("create-{}", resource.name.to_kebab_case()))?;
    let shape = match create.request.as_ref()? {
        Ty::Array(_) => CreateShape::List,
        _ if field(request_type(create)?, "data").is_some_and(|d| d.required)
            && data_type(create).is_some() =>
        {
            CreateShape::Data
        }
        _ => CreateShape::Object,
    };
    request_type(create).map(|_| (create, shape))
}

const GENERIC: &[&str] = &[
    "list", "get", "count", "create", "update", "delete", "snapshot", "backup", "vnc", "upload",
    "watch",
];

fn verb(name: &str, about: String, action: Action) -> Verb {
    Verb {
        name: name.to_owned(),
        about,
        keys: false,
        filter: false,
        list: false,
        set_type: None,
        extra_args: Vec::new(),
        action,
    }
}

/// The request object type of an operation (the element type of a list of params).
fn request_type(operation: &'static OperationSchema) -> Option<&'static str> {
    operation.request.as_ref()?.named()
}

/// The object type of the `data` field of an operation's request (or of its elements).
fn data_type(operation: &'static OperationSchema) -> Option<&'static str> {
    let data = field(request_type(operation)?, "data")?;
    match &data.ty {
        Ty::Array(inner) => object_type(inner),
        other => object_type(other),
    }
}

/// Whether `operation` takes `{where: <the resource's filter>}` and nothing else required.
fn takes_selection(operation: &'static OperationSchema, resource: &ResourceSchema) -> bool {
    let Some(request) = request_type(operation) else {
        return false;
    };
    let selects = field(request, "where")
        .is_some_and(|w| w.required && w.ty == Ty::Named(resource.filter.clone()));
    selects
        && fields(request)
            .iter()
            .all(|f| !f.required || f.name == "where")
}

/// The verbs of `module`, whose resource is `resource`.
pub fn verbs(module: &str, resource: &'static ResourceSchema) -> Vec<Verb> {
    let api = api();
    let plural = format!("{}s", resource.name);
    let mut verbs = vec![Verb {
        list: true,
        filter: true,
        ..verb(
            "list",
            format!("List {plural} (a table; -o for other formats)"),
            Action::List,
        )
    }];
    verbs.push(Verb {
        keys: true,
        ..verb(
            "get",
            format!("Show {plural} by id, local id or name"),
            Action::Get,
        )
    });
    if resource.connection.is_some() {
        verbs.push(Verb {
            filter: true,
            ..verb(
                "count",
                format!("Count the {plural} a filter matches"),
                Action::Count,
            )
        });
    }
    if let Some((create, shape)) = create_operation(resource) {
        let set_type = match shape {
            CreateShape::Data => data_type(create),
            CreateShape::List | CreateShape::Object => request_type(create),
        };
        verbs.push(Verb {
            set_type,
            ..verb(
                "create",
                format!("Create {} resources ({})", resource.name, create.path),
                Action::Create(create, shape),
            )
        });
    }
    if let Some(update) = verb_operation(resource, "update", |k| {
        matches!(k, OperationKind::Update { .. })
    }) {
        verbs.push(Verb {
            keys: true,
            filter: true,
            set_type: data_type(update),
            ..verb(
                "update",
                format!("Change {plural} ({})", update.path),
                Action::Update(update),
            )
        });
    }
    if let Some(delete) = verb_operation(resource, "delete", |k| {
        matches!(k, OperationKind::Delete { .. })
    }) {
        verbs.push(Verb {
            keys: true,
            filter: true,
            ..verb(
                "delete",
                format!("Delete {plural} ({})", delete.path),
                Action::Delete(delete),
            )
        });
    }
    let suffix = format!("-{}", resource.name.to_kebab_case());
    for operation in api.operations.iter().filter(|op| op.module == module) {
        let Some(name) = operation.path.strip_suffix(&suffix) else {
            continue;
        };
        if !matches!(operation.kind, OperationKind::Other)
            || GENERIC.contains(&name)
            || !takes_selection(operation, resource)
        {
            continue;
        }
        verbs.push(Verb {
            keys: true,
            filter: true,
            set_type: data_type(operation),
            ..verb(
                name,
                format!("{} {plural} ({})", sentence(name), operation.path),
                Action::Act(operation),
            )
        });
    }
    let vm = resource.name == "Vm";
    if let Some(snapshot) = api.operation("create-vm-snapshot").filter(|_| vm) {
        verbs.push(Verb {
            keys: true,
            extra_args: snapshot_args(),
            ..verb(
                "snapshot",
                "Snapshot VMs (create-vm-snapshot)".into(),
                Action::Snapshot(snapshot),
            )
        });
        if let Some(luns) = api.resource("IscsiLunSnapshot") {
            verbs.push(Verb {
                keys: true,
                extra_args: snapshot_args(),
                ..verb(
                    "backup",
                    "The guide's backup walk-through: snapshot a VM and list the LUN snapshots a \
                     backup tool reads"
                        .into(),
                    Action::Backup(snapshot, luns),
                )
            });
        }
    }
    if vm && HAS_VNC {
        verbs.push(Verb {
            keys: true,
            ..verb(
                "vnc",
                "The noVNC console URL of a VM (get-vm-vnc-info)".into(),
                Action::Vnc,
            )
        });
    }
    if resource.name == "ElfImage" && HAS_UPLOAD {
        verbs.push(Verb {
            extra_args: upload_args(),
            ..verb(
                "upload",
                "Upload an ISO or disk image in chunks (upload-elf-image)".into(),
                Action::Upload,
            )
        });
    }
    if HAS_WATCH {
        verbs.push(Verb {
            extra_args: watch_args(),
            ..verb(
                "watch",
                format!("Print changes of {plural} as they happen (resource-changes)"),
                Action::Watch,
            )
        });
    }
    verbs
}

/// `force-restart` → `Force restart`.
fn sentence(verb: &str) -> String {
    let words = verb.replace('-', " ");
    let mut chars = words.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

fn snapshot_args() -> Vec<Arg> {
    let mut args = vec![Arg::new("name")
        .long("name")
        .value_name("NAME")
        .help("The snapshot's name [default: <vm>-<unix time>]")];
    if let Some(values) = crate::tree::enum_values(&Ty::Named("ConsistentType".into())) {
        args.push(
            Arg::new("consistent-type")
                .long("consistent-type")
                .value_parser(clap::builder::PossibleValuesParser::new(values))
                .help("[default: file-system consistent when VMTools run, else crash consistent]"),
        );
    }
    args
}

fn upload_args() -> Vec<Arg> {
    vec![
        Arg::new("file")
            .required(true)
            .value_name("FILE")
            .value_parser(value_parser!(std::path::PathBuf))
            .help("The image file"),
        Arg::new("cluster")
            .long("cluster")
            .required(true)
            .value_name("ID|LOCAL_ID|NAME")
            .help("The cluster to upload to"),
        Arg::new("name")
            .long("name")
            .value_name("NAME")
            .help("The image's name [default: the file name]"),
        Arg::new("description")
            .long("description")
            .value_name("TEXT"),
    ]
}

fn watch_args() -> Vec<Arg> {
    vec![
        Arg::new("from")
            .long("from")
            .value_name("REVISION")
            .help("Start at this revision [default: changes from now on]"),
        Arg::new("action")
            .long("action")
            .value_name("ACTION")
            .help("Only changes of this kind (CREATE, UPDATE, DELETE)"),
        Arg::new("id")
            .long("id")
            .value_name("ID")
            .help("Only changes of this resource"),
        Arg::new("limit")
            .long("limit")
            .value_name("N")
            .value_parser(value_parser!(u64).range(1..))
            .help("Stop after this many changes"),
    ]
}

/// Runs the verb `name` of `module`.
pub async fn run(
    context: &mut Context,
    module: &str,
    resource: &'static ResourceSchema,
    name: &str,
    matches: &ArgMatches,
) -> Result<()> {
    let verb = verbs(module, resource)
        .into_iter()
        .find(|verb| verb.name == name)
        .expect("the tree offers only these verbs");
    dynamic::target(resource);
    match verb.action {
        Action::List => list(context, resource, matches).await,
        Action::Get => {
            let items = resolve_all(context, resource, matches).await?;
            let format = context.format_or(Format::Table);
            let value = Value::Array(items.into_iter().map(|item| item.0).collect());
            context.printer.print(&value, &format, Some(&resource.name))
        }
        Action::Count => {
            let client = context.client().await?;
            let list = DynList::new(resource, selection_filter(resource, matches)?);
            let count = client.count(&list).await.map_err(|e| context.failure(e))?;
            context.printer.line(&count.to_string())
        }
        Action::Create(operation, shape) => {
            let as_list = |value: Value| match value {
                Value::Array(items) => Value::Array(items),
                object => Value::Array(vec![object]),
            };
            let given = set_object(&verb, matches)?;
            let body = match shape {
                CreateShape::List => as_list(given),
                CreateShape::Object => given,
                CreateShape::Data => {
                    let many = request_type(operation)
                        .and_then(|r| field(r, "data"))
                        .is_some_and(|d| matches!(d.ty, Ty::Array(_)));
                    json!({ "data": if many { as_list(given) } else { given } })
                }
            };
            mutate(context, operation, body).await
        }
        Action::Update(operation) | Action::Act(operation) => {
            let selection = select(context, resource, matches).await?;
            let mut body = json!({ "where": selection });
            if verb.set_type.is_some() {
                let data = set_object(&verb, matches)?;
                if data.as_object().is_some_and(|o| !o.is_empty())
                    || matches!(verb.action, Action::Update(_))
                {
                    body["data"] = data;
                }
            }
            mutate(context, operation, body).await
        }
        Action::Delete(operation) => {
            let selection = select(context, resource, matches).await?;
            mutate(context, operation, json!({ "where": selection })).await
        }
        Action::Snapshot(operation) => {
            let vms = resolve_all(context, resource, matches).await?;
            let data = vms
                .iter()
                .map(|vm| snapshot_params(vm, matches))
                .collect::<Vec<_>>();
            mutate(context, operation, json!({ "data": data })).await
        }
        Action::Backup(operation, luns) => {
            backup(context, resource, operation, luns, matches).await
        }
        Action::Vnc => vnc(context, resource, matches).await,
        Action::Upload => upload(context, matches).await,
        Action::Watch => watch(context, resource, matches).await,
    }
}

/// Checks and sends a mutation, then waits and prints as every operation does.
async fn mutate(
    context: &mut Context,
    operation: &'static OperationSchema,
    body: Value,
) -> Result<()> {
    let answer = call::send_checked(context, operation, body).await?;
    call::finish(context, operation, answer, Format::Table).await
}

async fn list(
    context: &mut Context,
    resource: &'static ResourceSchema,
    matches: &ArgMatches,
) -> Result<()> {
    let mut list = DynList::new(resource, selection_filter(resource, matches)?);
    if let Some(order) = matches.get_one::<String>("order-by") {
        list.body.insert("orderBy".into(), order.clone().into());
    }
    if matches.get_flag("all") {
        return call::print_all(context, list, matches, Some(&resource.name), Format::Table).await;
    }
    for name in ["first", "skip"] {
        if let Ok(Some(value)) = matches.try_get_one::<i64>(name) {
            list.body.insert(name.into(), (*value).into());
        }
    }
    if let Ok(Some(after)) = matches.try_get_one::<String>("after") {
        list.body.insert("after".into(), after.clone().into());
    }
    let operation = api()
        .operation(&resource.list)
        .expect("a resource's list operation");
    let answer = call::send_checked(context, operation, Value::Object(list.body)).await?;
    call::finish(context, operation, answer, Format::Table).await
}

/// `--where`/`--where-json` as a filter, if given.
fn selection_filter(resource: &ResourceSchema, matches: &ArgMatches) -> Result<Option<Value>> {
    let mut filter: Option<Value> = None;
    if let Ok(Some(json)) = matches.try_get_one::<String>("where-json") {
        filter = Some(parse_json("where-json", json)?);
    }
    if let Ok(Some(pairs)) = matches.try_get_many::<String>("where") {
        let mut object = Map::new();
        for pair in pairs {
            set_pair(&mut object, &resource.filter, pair)?;
        }
        let target = filter.get_or_insert_with(|| Value::Object(Map::new()));
        merge(target, Value::Object(object));
    }
    if let Some(filter) = &filter {
        api()
            .check(filter, &Ty::Named(resource.filter.clone()))
            .map_err(|mismatch| {
                Failure::Usage(format!("invalid filter (nothing was sent): {mismatch}"))
            })?;
    }
    Ok(filter)
}

/// The resources named by the keys, each by id, local id or exact name: one each, or an
/// error saying which is missing or ambiguous.
async fn resolve_all(
    context: &mut Context,
    resource: &'static ResourceSchema,
    matches: &ArgMatches,
) -> Result<Vec<DynItem>> {
    let keys: Vec<&String> = matches
        .try_get_many::<String>("keys")
        .ok()
        .flatten()
        .map(Iterator::collect)
        .unwrap_or_default();
    let mut items = Vec::with_capacity(keys.len());
    for key in keys {
        items.push(resolve_one(context, resource, key).await?);
    }
    Ok(items)
}

/// The one resource whose id, local id or exact name is `key` (the SDK's `Client::resolve`:
/// none is `Error::NotFound`, exit 4; several are `Error::Ambiguous`, exit 2).
async fn resolve_one(
    context: &mut Context,
    resource: &'static ResourceSchema,
    key: &str,
) -> Result<DynItem> {
    let client = context.client().await?;
    dynamic::target(resource);
    client
        .resolve::<DynItem>(key)
        .await
        .map_err(|error| context.failure(error))
}

/// The `where` of a verb: the resources named, else `--where`; one of them is needed.
async fn select(
    context: &mut Context,
    resource: &'static ResourceSchema,
    matches: &ArgMatches,
) -> Result<Value> {
    let named = matches
        .try_get_many::<String>("keys")
        .ok()
        .flatten()
        .is_some();
    if named {
        let ids: Vec<String> = resolve_all(context, resource, matches)
            .await?
            .iter()
            .map(|item| item.id().to_owned())
            .collect();
        return Ok(json!({ "id_in": ids }));
    }
    selection_filter(resource, matches)?.ok_or_else(|| {
        Failure::Usage(format!(
            "name the {}s (id, local id or name), or select them with --where",
            resource.name
        ))
    })
}

/// `--data` then `--set` pairs, as an object of the verb's type (or a list of them).
fn set_object(verb: &Verb, matches: &ArgMatches) -> Result<Value> {
    let type_name = verb.set_type.unwrap_or_default();
    let mut value = match matches.try_get_one::<String>("data").ok().flatten() {
        Some(data) => read_data(data)?,
        None => Value::Object(Map::new()),
    };
    if let Ok(Some(pairs)) = matches.try_get_many::<String>("set") {
        let Some(object) = value.as_object_mut() else {
            return Err(Failure::Usage("--set needs --data to be an object".into()));
        };
        for pair in pairs {
            set_pair(object, type_name, pair)?;
        }
    }
    Ok(value)
}

fn snapshot_params(vm: &DynItem, matches: &ArgMatches) -> Value {
    let name = match matches.get_one::<String>("name") {
        Some(name) => name.clone(),
        None => {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let vm_name = vm.0.get("name").and_then(Value::as_str).unwrap_or("vm");
            format!("{vm_name}-{now}")
        }
    };
    let consistent_type = matches
        .get_one::<String>("consistent-type")
        .cloned()
        .unwrap_or_else(|| {
            let tools = vm.0.get("vm_tools_status").and_then(Value::as_str);
            if tools == Some("RUNNING") {
                "FILE_SYSTEM_CONSISTENT"
            } else {
                "CRASH_CONSISTENT"
            }
            .to_owned()
        });
    json!({ "vm_id": vm.id(), "name": name, "consistent_type": consistent_type })
}

/// The guide's backup walk-through: snapshot the VM, wait, read the snapshot's disks, and
/// find the iSCSI LUN snapshots behind them (their `local_id` is what a backup tool reads).
async fn backup(
    context: &mut Context,
    vms: &'static ResourceSchema,
    operation: &'static OperationSchema,
    luns: &'static ResourceSchema,
    matches: &ArgMatches,
) -> Result<()> {
    let vm_list = resolve_all(context, vms, matches).await?;
    let data: Vec<Value> = vm_list
        .iter()
        .map(|vm| snapshot_params(vm, matches))
        .collect();
    let answer = call::send_checked(context, operation, json!({ "data": data }))
        .await?
        .unwrap_or_default();
    let ids = call::task_ids(&answer);
    call::wait(context, &ids).await?;
    let snapshot_ids: Vec<Value> = answer
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item.pointer("/data/id").cloned())
        .collect();
    let snapshots = api().resource("VmSnapshot").ok_or_else(|| {
        Failure::Other("this spec lists no VM snapshots (get-vm-snapshots)".into())
    })?;
    let client = context.client().await?;
    let snapshots = list_where(&client, snapshots, json!({ "id_in": snapshot_ids }))
        .await
        .map_err(|error| context.failure(error))?;
    let names: Vec<Value> = snapshots
        .iter()
        .flat_map(|snapshot| {
            snapshot
                .get("vm_disks")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        })
        .filter(|disk| disk.get("type").and_then(Value::as_str) == Some("DISK"))
        .filter_map(|disk| {
            disk.get("snapshot_local_id")
                .filter(|id| id.is_string())
                .cloned()
        })
        .collect();
    let found = list_where(&client, luns, json!({ "name_in": names }))
        .await
        .map_err(|error| context.failure(error))?;
    if found.len() != names.len() {
        return Err(Failure::Other(format!(
            "the snapshot has {} disk snapshot(s) but the tower lists {} LUN snapshot(s) for them",
            names.len(),
            found.len()
        )));
    }
    let format = context.format_or(Format::Table);
    context
        .printer
        .print(&Value::Array(found), &format, Some(&luns.name))
}

/// The resources of `resource` matching `filter`, every page.
async fn list_where(
    client: &Client,
    resource: &'static ResourceSchema,
    filter: Value,
) -> std::result::Result<Vec<Value>, cloudtower_api::Error> {
    let list = DynList::new(resource, Some(filter));
    let items = client.paginate(list).collect().await?;
    Ok(items.into_iter().map(|item| item.0).collect())
}

cloudtower_api::cfg_vnc_helper! {
    {
        /// Whether this build has the `vnc` verb: its `cloudtower-api` has the helper.
        const HAS_VNC: bool = true;
        async fn vnc(
            context: &mut Context,
            resource: &'static ResourceSchema,
            matches: &ArgMatches,
        ) -> Result<()> {
            let vms = resolve_all(context, resource, matches).await?;
            let client = context.client().await?;
            let mut consoles = Vec::new();
            for vm in &vms {
                let unique = cloudtower_api::models::VmWhereUniqueInput {
                    id: vm.id().to_owned().into(),
                    ..Default::default()
                };
                let console = client
                    .vm_vnc_console(unique)
                    .await
                    .map_err(|e| context.failure(e))?;
                consoles
                    .push(json!({ "id": vm.id(), "url": console.url, "direct_url": console.direct_url }));
            }
            match &context.format {
                Some(format) => {
                    let format = format.clone();
                    context
                        .printer
                        .print(&Value::Array(consoles), &format, None)
                }
                None => {
                    for console in consoles {
                        context
                            .printer
                            .line(console["url"].as_str().unwrap_or_default())?;
                    }
                    Ok(())
                }
            }
        }
    } else {
        const HAS_VNC: bool = false;
        async fn vnc(_context: &mut Context, _resource: &'static ResourceSchema, _matches: &ArgMatches) -> Result<()> {
            Err(Failure::Other("this build has no VNC helper: its CloudTower spec lacks what it needs".into()))
        }
    }
}

cloudtower_api::cfg_upload_helper! {
    {
        /// Whether this build has the `upload` verb: its `cloudtower-api` has the helper.
        const HAS_UPLOAD: bool = true;
        async fn upload(context: &mut Context, matches: &ArgMatches) -> Result<()> {
            let path = matches
                .get_one::<std::path::PathBuf>("file")
                .expect("required");
            let clusters = api()
                .resource("Cluster")
                .ok_or_else(|| Failure::Other("this spec lists no clusters".into()))?;
            let cluster_key = matches.get_one::<String>("cluster").expect("required");
            let cluster = resolve_one(context, clusters, cluster_key).await?;
            let client = context.client().await?;
            let name = matches
                .get_one::<String>("name")
                .cloned()
                .unwrap_or_else(|| {
                    path.file_name()
                        .map_or_else(|| "image".into(), |n| n.to_string_lossy().into_owned())
                });
            let size = std::fs::metadata(path)
                .map_err(|error| Failure::Usage(format!("{}: {error}", path.display())))?
                .len();
            let bar = indicatif::ProgressBar::new(size);
            let progress = bar.clone();
            let mut upload = cloudtower_api::upload::ElfImageUpload::new(cluster.id(), name)
                .wait(context.wait.timeout, std::time::Duration::from_secs(1))
                .on_progress(move |p| progress.set_position(p.sent));
            if let Some(description) = matches.get_one::<String>("description") {
                upload = upload.description(description.clone());
            }
            let task = client.upload_elf_image_file(path, upload).await;
            bar.finish_and_clear();
            let task = task.map_err(|e| context.failure(e))?;
            let value = json!({ "id": task.id, "status": task.status.to_string() });
            let format = context.format_or(Format::Table);
            context.printer.print(&value, &format, None)
        }
    } else {
        const HAS_UPLOAD: bool = false;
        async fn upload(_context: &mut Context, _matches: &ArgMatches) -> Result<()> {
            Err(Failure::Other("this build has no upload helper: its CloudTower spec lacks what it needs".into()))
        }
    }
}

cloudtower_api::cfg_watch_helper! {
    {
        /// Whether this build has the `watch` verb: its `cloudtower-api` has the helper.
        const HAS_WATCH: bool = true;
        async fn watch(
            context: &mut Context,
            resource: &'static ResourceSchema,
            matches: &ArgMatches,
        ) -> Result<()> {
            let client = context.client().await?;
            let options = cloudtower_api::watch::WatchOptions {
                start_revision: matches.get_one::<String>("from").cloned(),
                resource_type: Some(resource.name.clone()),
                resource_id: matches.get_one::<String>("id").cloned(),
                action: matches.get_one::<String>("action").cloned(),
                ..Default::default()
            };
            let limit = matches.get_one::<u64>("limit").copied();
            let format = context.format_or(Format::Table);
            let mut changes = std::pin::pin!(client.watch_resource_changes(options));
            let mut seen = 0;
            while let Some(change) = changes.next().await {
                match change {
                    Ok(event) => {
                        let value = json!({
                            "revision": event.revision,
                            "action": event.action,
                            "resource_type": event.resource_type,
                            "resource_id": event.resource_id,
                            "created_at": event.created_at,
                        });
                        let text = match &format {
                            Format::Table | Format::Wide => format!(
                                "{}\t{}\t{}\t{}",
                                event.revision,
                                event.action.as_deref().unwrap_or("-"),
                                event.resource_type.as_deref().unwrap_or("-"),
                                event.resource_id.as_deref().unwrap_or("-")
                            ),
                            // One compact document per line (JSON Lines), for `| jq`.
                            Format::Json => value.to_string(),
                            other => crate::output::render(&value, other, None, false)?
                                .trim_end()
                                .to_owned(),
                        };
                        context.printer.line(&text)?;
                        seen += 1;
                        if limit.is_some_and(|limit| seen >= limit) {
                            return Ok(());
                        }
                    }
                    Err(error) if error.is_transient() => eprintln!("warning: {error} (still watching)"),
                    Err(error) => return Err(Failure::Other(error.to_string())),
                }
            }
            Ok(())
        }
    } else {
        const HAS_WATCH: bool = false;
        async fn watch(_context: &mut Context, _resource: &'static ResourceSchema, _matches: &ArgMatches) -> Result<()> {
            Err(Failure::Other("this build has no watch helper: its CloudTower spec lacks what it needs".into()))
        }
    }
}
