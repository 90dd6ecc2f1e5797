//! The flags several verbs take, each declared here once and parsed into a typed value: the
//! resources named (`keys`), a filter (`--where`, `--where-json`), an object to send (`--set`,
//! `--data`), the list flags (`--order-by`, `--first`, `--skip`, `--after`) and paging
//! (`--all`, `--page-size`), and a snapshot's name and consistency.

use std::time::{SystemTime, UNIX_EPOCH};

use clap::builder::PossibleValuesParser;
use clap::{value_parser, Arg, ArgAction, ArgMatches};
use cloudtower_schema::{ResourceSchema, Ty};
use serde_json::{json, Value};

use crate::body::object_from;
use crate::context::Context;
use crate::dynamic::DynItem;
use crate::failure::Result;
use crate::schema::{api, enum_values, field};
use crate::selection;

flag_ids! {
    KEYS = "keys";
    WHERE = "where";
    WHERE_JSON = "where-json";
    SET = "set";
    DATA = "data";
    ALL = "all";
    PAGE_SIZE = "page-size";
    ORDER_BY = "order-by";
    FIRST = "first";
    SKIP = "skip";
    AFTER = "after";
    SNAPSHOT_NAME = "name";
    CONSISTENT_TYPE = "consistent-type";
}

/// The strings given to a flag that takes many (none when it is not given).
fn strings(matches: &ArgMatches, id: &str) -> Vec<String> {
    matches
        .get_many::<String>(id)
        .map(|values| values.cloned().collect())
        .unwrap_or_default()
}

/// `ID|LOCAL_ID|NAME…`: the resources a verb acts on, each by id, local id or exact name.
pub fn keys_arg(resource: &ResourceSchema, required: bool) -> Arg {
    Arg::new(KEYS)
        .value_name("ID|LOCAL_ID|NAME")
        .num_args(1..)
        .required(required)
        .help(format!(
            "The {}s, each by id, local id or exact name",
            resource.name
        ))
}

/// The keys given (none when the verb selects with a filter instead).
pub fn keys(matches: &ArgMatches) -> Vec<String> {
    strings(matches, KEYS)
}

pub fn filter_args(resource: &ResourceSchema) -> Vec<Arg> {
    vec![
        Arg::new(WHERE)
            .long(WHERE)
            .value_name("KEY=VALUE")
            .action(ArgAction::Append)
            .help(format!(
                "Select by a field of {} (repeat for more; a.b=v, a,b for lists)",
                resource.filter
            )),
        Arg::new(WHERE_JSON)
            .long(WHERE_JSON)
            .value_name("JSON")
            .help(format!("Select with a {} as JSON", resource.filter)),
    ]
}

/// `--where` and `--where-json`, as given.
pub struct Filter {
    pub pairs: Vec<String>,
    pub json: Option<String>,
}

impl Filter {
    pub fn from_matches(matches: &ArgMatches) -> Filter {
        Filter {
            pairs: strings(matches, WHERE),
            json: matches.get_one::<String>(WHERE_JSON).cloned(),
        }
    }

    /// The filter, checked against the resource's filter type, if one is given.
    pub fn value(&self, resource: &ResourceSchema) -> Result<Option<Value>> {
        selection::filter(resource, self.json.as_deref(), &self.pairs)
    }
}

/// The resources named, else a filter: what `update`, `delete` and the actions select.
pub struct Selection {
    pub keys: Vec<String>,
    pub filter: Filter,
}

impl Selection {
    pub fn args(resource: &ResourceSchema) -> Vec<Arg> {
        let mut args = vec![keys_arg(resource, false)];
        args.extend(filter_args(resource));
        args
    }

    pub fn from_matches(matches: &ArgMatches) -> Selection {
        Selection {
            keys: keys(matches),
            filter: Filter::from_matches(matches),
        }
    }

    /// The `where` they give: the resources named, else the filter; one is needed.
    pub async fn value(
        &self,
        context: &mut Context,
        resource: &'static ResourceSchema,
    ) -> Result<Value> {
        let filter = &self.filter;
        selection::select(
            context,
            resource,
            &self.keys,
            filter.json.as_deref(),
            &filter.pairs,
        )
        .await
    }
}

pub fn data_arg() -> Arg {
    Arg::new(DATA)
        .long(DATA)
        .short('d')
        .value_name("JSON|@FILE|-")
        .help("The request body: JSON, @FILE (a file of JSON) or - (stdin)")
}

/// `--data` as given.
pub fn data(matches: &ArgMatches) -> Option<String> {
    matches.get_one::<String>(DATA).cloned()
}

/// `--set KEY=VALUE…` and `--data`: an object of `type_name` to send.
pub fn set_args(type_name: &str) -> Vec<Arg> {
    vec![
        Arg::new(SET)
            .long(SET)
            .short('s')
            .value_name("KEY=VALUE")
            .action(ArgAction::Append)
            .help(format!(
                "Set a field of {type_name} (repeat for more; a.b=v, a,b for lists)"
            )),
        data_arg().help(format!(
            "The {type_name} as JSON, @FILE or - (stdin); --set over it"
        )),
    ]
}

/// `--data` then `--set` pairs, as given.
pub struct Setting {
    pub data: Option<String>,
    pub pairs: Vec<String>,
}

impl Setting {
    pub fn from_matches(matches: &ArgMatches) -> Setting {
        Setting {
            data: data(matches),
            pairs: strings(matches, SET),
        }
    }

    /// The object of `type_name` (or a list of them) they give.
    pub fn object(&self, type_name: &str) -> Result<Value> {
        object_from(type_name, self.data.as_deref(), &self.pairs)
    }
}

/// `--all` and `--page-size`: every page of a list.
pub fn paging_args() -> Vec<Arg> {
    vec![
        Arg::new(ALL)
            .long(ALL)
            .action(ArgAction::SetTrue)
            .help("Every page: streams all items, page by page (first/after are its own)"),
        Arg::new(PAGE_SIZE)
            .long(PAGE_SIZE)
            .value_name("N")
            .default_value("100")
            .value_parser(value_parser!(i32).range(1..))
            .help("Items per request with --all"),
    ]
}

/// `--all` and `--page-size`, as given.
pub struct Paging {
    pub all: bool,
    pub page_size: i32,
}

impl Paging {
    pub fn from_matches(matches: &ArgMatches) -> Paging {
        Paging {
            all: matches.get_flag(ALL),
            page_size: *matches.get_one::<i32>(PAGE_SIZE).expect("defaulted"),
        }
    }
}

/// Which list flags a resource's list operation takes: decided here for the flags'
/// declaration and their parsing alike.
struct ListFlags {
    /// The values of `--order-by`, when the resource has an order type.
    order: Option<Vec<&'static str>>,
    first: bool,
    skip: bool,
    after: bool,
}

impl ListFlags {
    fn of(resource: &ResourceSchema) -> ListFlags {
        let order = resource
            .order
            .as_ref()
            .and_then(|order| enum_values(&Ty::Named(order.clone())));
        let request = api()
            .operation(&resource.list)
            .and_then(|op| op.request.as_ref())
            .and_then(|ty| ty.named())
            .unwrap_or_default();
        ListFlags {
            order,
            first: field(request, FIRST).is_some(),
            skip: field(request, SKIP).is_some(),
            after: field(request, AFTER).is_some(),
        }
    }
}

/// `--order-by`, `--first`, `--skip` and `--after`, those the list operation takes.
pub fn list_args(resource: &ResourceSchema) -> Vec<Arg> {
    let takes = ListFlags::of(resource);
    let mut args = Vec::new();
    if let Some(values) = takes.order {
        args.push(
            Arg::new(ORDER_BY)
                .long(ORDER_BY)
                .value_name("FIELD_ASC|FIELD_DESC")
                .value_parser(PossibleValuesParser::new(values))
                .hide_possible_values(true)
                .help("Order by a field (name_ASC, local_created_at_DESC, …)"),
        );
    }
    for (taken, id, help) in [
        (takes.first, FIRST, "At most this many items"),
        (takes.skip, SKIP, "Skip this many items first"),
    ] {
        if taken {
            args.push(
                Arg::new(id)
                    .long(id)
                    .value_name("N")
                    .value_parser(value_parser!(i64).range(0..))
                    .help(help),
            );
        }
    }
    if takes.after {
        args.push(
            Arg::new(AFTER)
                .long(AFTER)
                .value_name("ID")
                .help("The items after the one with this id"),
        );
    }
    args
}

/// The list flags, as given.
pub struct Listing {
    pub order_by: Option<String>,
    pub first: Option<i64>,
    pub skip: Option<i64>,
    pub after: Option<String>,
}

impl Listing {
    pub fn from_matches(resource: &ResourceSchema, matches: &ArgMatches) -> Listing {
        let takes = ListFlags::of(resource);
        let number =
            |taken: bool, id: &str| taken.then(|| matches.get_one::<i64>(id).copied()).flatten();
        Listing {
            order_by: takes
                .order
                .and_then(|_| matches.get_one::<String>(ORDER_BY).cloned()),
            first: number(takes.first, FIRST),
            skip: number(takes.skip, SKIP),
            after: takes
                .after
                .then(|| matches.get_one::<String>(AFTER).cloned())
                .flatten(),
        }
    }
}

/// The values of `--consistent-type`, when the spec has them.
fn consistent_types() -> Option<Vec<&'static str>> {
    enum_values(&Ty::Named("ConsistentType".into()))
}

/// `--name` and `--consistent-type` of a VM snapshot.
pub fn snapshot_args() -> Vec<Arg> {
    let mut args = vec![Arg::new(SNAPSHOT_NAME)
        .long(SNAPSHOT_NAME)
        .value_name("NAME")
        .help("The snapshot's name [default: <vm>-<unix time>]")];
    if let Some(values) = consistent_types() {
        args.push(
            Arg::new(CONSISTENT_TYPE)
                .long(CONSISTENT_TYPE)
                .value_parser(PossibleValuesParser::new(values))
                .help("[default: file-system consistent when VMTools run, else crash consistent]"),
        );
    }
    args
}

/// A VM snapshot's name and consistency, as given.
pub struct SnapshotNaming {
    pub name: Option<String>,
    pub consistent_type: Option<String>,
}

impl SnapshotNaming {
    pub fn from_matches(matches: &ArgMatches) -> SnapshotNaming {
        SnapshotNaming {
            name: matches.get_one::<String>(SNAPSHOT_NAME).cloned(),
            consistent_type: consistent_types()
                .and_then(|_| matches.get_one::<String>(CONSISTENT_TYPE).cloned()),
        }
    }

    /// The params of `create-vm-snapshot` for `vm`: the name given, else `<vm>-<unix time>`;
    /// the consistency given, else file-system consistent when VMTools run.
    pub fn params(&self, vm: &DynItem) -> Value {
        let name = match &self.name {
            Some(name) => name.clone(),
            None => {
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let vm_name = vm.0.get("name").and_then(Value::as_str).unwrap_or("vm");
                format!("{vm_name}-{now}")
            }
        };
        let consistent_type = self.consistent_type.clone().unwrap_or_else(|| {
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
}
