//! The catalogue of resource verbs: which verbs a module's resource has, found from the
//! table by the operations' kinds and names (`list`, `get`, `count`, `create`, `update`,
//! `delete`, the actions that take a resource selection, and the workflows `snapshot`,
//! `backup`, `vnc`, `upload`, `watch`), and for each its command and its run. The verbs
//! themselves are modules of their own; this is the one place that lists them.

use clap::{ArgMatches, Command};
use cloudtower_schema::{OperationKind, OperationSchema, ResourceSchema, Ty};
use futures_util::future::LocalBoxFuture;
use heck::ToKebabCase;

use super::act::{self, Act};
use super::backup::{self, Backup};
use super::create::{self, Create, Shape};
use super::update::{self, Update};
use super::{count, delete, get, list, snapshot};
use crate::body::object_type;
use crate::context::Context;
use crate::failure::Result;
use crate::schema::{api, field, fields, verb_operation};

/// A verb of a module's resource, with what it acts on.
pub enum Verb {
    List,
    Get,
    Count,
    Create(Create),
    Update(Update),
    Delete(&'static OperationSchema),
    /// An operation taking `{where, data?}` of this resource.
    Act(Act),
    Snapshot(&'static OperationSchema),
    Backup(Backup),
    /// A verb over a helper of `cloudtower-api`, where this build has it.
    Helper(&'static Helper),
}

/// A verb over a helper of `cloudtower-api` (`vnc`, `upload`, `watch`): its module is
/// compiled only where the regenerated crate has the helper, so the catalogue reaches it
/// through these functions.
pub struct Helper {
    pub name: &'static str,
    /// Whether a resource has the verb.
    pub offered: fn(&ResourceSchema) -> bool,
    pub command: fn(&str, &'static ResourceSchema) -> Command,
    /// Parses the verb's options and runs it.
    pub run: for<'a> fn(
        &'a mut Context,
        &'static ResourceSchema,
        &ArgMatches,
    ) -> LocalBoxFuture<'a, Result<()>>,
    /// Its flag ids (checked by the tree's tests).
    #[cfg(test)]
    pub flags: &'static [&'static str],
}

cloudtower_api::cfg_vnc_helper! {
    {
        const VNC: Option<&Helper> = Some(&Helper {
            name: super::vnc::NAME,
            offered: super::vnc::offered,
            command: super::vnc::command,
            run: run_vnc,
            #[cfg(test)]
            flags: &[],
        });
        fn run_vnc<'a>(
            context: &'a mut Context,
            resource: &'static ResourceSchema,
            matches: &ArgMatches,
        ) -> LocalBoxFuture<'a, Result<()>> {
            let options = super::vnc::Options::from_matches(matches);
            Box::pin(super::vnc::run(context, resource, options))
        }
    } else {
        const VNC: Option<&Helper> = None;
    }
}

cloudtower_api::cfg_upload_helper! {
    {
        const UPLOAD: Option<&Helper> = Some(&Helper {
            name: super::upload::NAME,
            offered: super::upload::offered,
            command: super::upload::command,
            run: run_upload,
            #[cfg(test)]
            flags: super::upload::FLAGS,
        });
        fn run_upload<'a>(
            context: &'a mut Context,
            resource: &'static ResourceSchema,
            matches: &ArgMatches,
        ) -> LocalBoxFuture<'a, Result<()>> {
            let options = super::upload::Options::from_matches(matches);
            Box::pin(super::upload::run(context, resource, options))
        }
    } else {
        const UPLOAD: Option<&Helper> = None;
    }
}

cloudtower_api::cfg_watch_helper! {
    {
        const WATCH: Option<&Helper> = Some(&Helper {
            name: super::watch::NAME,
            offered: super::watch::offered,
            command: super::watch::command,
            run: run_watch,
            #[cfg(test)]
            flags: super::watch::FLAGS,
        });
        fn run_watch<'a>(
            context: &'a mut Context,
            resource: &'static ResourceSchema,
            matches: &ArgMatches,
        ) -> LocalBoxFuture<'a, Result<()>> {
            let options = super::watch::Options::from_matches(matches);
            Box::pin(super::watch::run(context, resource, options))
        }
    } else {
        const WATCH: Option<&Helper> = None;
    }
}

/// The helper verbs this build has, in the order the tree shows them.
pub const HELPERS: [Option<&Helper>; 3] = [VNC, UPLOAD, WATCH];

/// The names of the catalogue's verbs: an operation of these names is never an action
/// (whether or not this build has the helper).
const NAMED: &[&str] = &[
    list::NAME,
    get::NAME,
    count::NAME,
    create::NAME,
    update::NAME,
    delete::NAME,
    snapshot::NAME,
    backup::NAME,
    "vnc",
    "upload",
    "watch",
];

impl Verb {
    pub fn name(&self) -> &str {
        match self {
            Verb::List => list::NAME,
            Verb::Get => get::NAME,
            Verb::Count => count::NAME,
            Verb::Create(_) => create::NAME,
            Verb::Update(_) => update::NAME,
            Verb::Delete(_) => delete::NAME,
            Verb::Act(act) => &act.name,
            Verb::Snapshot(_) => snapshot::NAME,
            Verb::Backup(_) => backup::NAME,
            Verb::Helper(helper) => helper.name,
        }
    }

    /// The verb's command: its flags and help.
    pub fn command(&self, module: &str, resource: &'static ResourceSchema) -> Command {
        match self {
            Verb::List => list::command(module, resource),
            Verb::Get => get::command(module, resource),
            Verb::Count => count::command(module, resource),
            Verb::Create(create) => create::command(module, resource, create),
            Verb::Update(update) => update::command(module, resource, update),
            Verb::Delete(operation) => delete::command(module, resource, operation),
            Verb::Act(act) => act::command(module, resource, act),
            Verb::Snapshot(_) => snapshot::command(module, resource),
            Verb::Backup(_) => backup::command(module, resource),
            Verb::Helper(helper) => (helper.command)(module, resource),
        }
    }

    /// Parses the verb's options from its matches (now: a flag its command does not declare
    /// panics here under clap's debug assertions), and returns the run over them.
    pub fn run<'a>(
        &'a self,
        context: &'a mut Context,
        resource: &'static ResourceSchema,
        matches: &ArgMatches,
    ) -> LocalBoxFuture<'a, Result<()>> {
        match self {
            Verb::List => {
                let options = list::Options::from_matches(resource, matches);
                Box::pin(list::run(context, resource, options))
            }
            Verb::Get => Box::pin(get::run(
                context,
                resource,
                get::Options::from_matches(matches),
            )),
            Verb::Count => Box::pin(count::run(
                context,
                resource,
                count::Options::from_matches(matches),
            )),
            Verb::Create(create) => {
                let options = create::Options::from_matches(create, matches);
                Box::pin(create::run(context, create, options))
            }
            Verb::Update(update) => {
                let options = update::Options::from_matches(update, matches);
                Box::pin(update::run(context, resource, update, options))
            }
            Verb::Delete(operation) => {
                let options = delete::Options::from_matches(matches);
                Box::pin(delete::run(context, resource, operation, options))
            }
            Verb::Act(act) => {
                let options = act::Options::from_matches(act, matches);
                Box::pin(act::run(context, resource, act, options))
            }
            Verb::Snapshot(operation) => {
                let options = snapshot::Options::from_matches(matches);
                Box::pin(snapshot::run(context, resource, operation, options))
            }
            Verb::Backup(backup) => {
                let options = backup::Options::from_matches(matches);
                Box::pin(backup::run(context, resource, backup, options))
            }
            Verb::Helper(helper) => (helper.run)(context, resource, matches),
        }
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

/// The operation of the `create` verb: the regular one, else `create-<resource>` whatever
/// its shape.
fn create_verb(resource: &ResourceSchema) -> Option<Create> {
    let (operation, shape) = if let Some(create) = verb_operation(resource, "create", |k| {
        matches!(k, OperationKind::Create { .. })
    }) {
        (create, Shape::List)
    } else {
        let create = api().operation(&format!("create-{}", resource.name.to_kebab_case()))?;
        let shape = match create.request.as_ref()? {
            Ty::Array(_) => Shape::List,
            _ if field(request_type(create)?, "data").is_some_and(|d| d.required)
                && data_type(create).is_some() =>
            {
                Shape::Data
            }
            _ => Shape::Object,
        };
        request_type(create)?;
        (create, shape)
    };
    let set_type = match shape {
        Shape::Data => data_type(operation),
        Shape::List | Shape::Object => request_type(operation),
    };
    Some(Create {
        operation,
        shape,
        set_type,
    })
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

/// The verbs of `module`, whose resource is `resource`, in the order the tree shows them.
pub fn verbs(module: &str, resource: &'static ResourceSchema) -> Vec<Verb> {
    let api = api();
    let mut verbs = vec![Verb::List, Verb::Get];
    if resource.connection.is_some() {
        verbs.push(Verb::Count);
    }
    verbs.extend(create_verb(resource).map(Verb::Create));
    if let Some(operation) = verb_operation(resource, "update", |k| {
        matches!(k, OperationKind::Update { .. })
    }) {
        verbs.push(Verb::Update(Update {
            operation,
            set_type: data_type(operation),
        }));
    }
    verbs.extend(
        verb_operation(resource, "delete", |k| {
            matches!(k, OperationKind::Delete { .. })
        })
        .map(Verb::Delete),
    );
    let suffix = format!("-{}", resource.name.to_kebab_case());
    for operation in api.operations.iter().filter(|op| op.module == module) {
        let Some(name) = operation.path.strip_suffix(&suffix) else {
            continue;
        };
        if !matches!(operation.kind, OperationKind::Other)
            || NAMED.contains(&name)
            || !takes_selection(operation, resource)
        {
            continue;
        }
        verbs.push(Verb::Act(Act {
            name: name.to_owned(),
            operation,
            set_type: data_type(operation),
        }));
    }
    let vm = resource.name == "Vm";
    if let Some(create_snapshot) = api.operation("create-vm-snapshot").filter(|_| vm) {
        verbs.push(Verb::Snapshot(create_snapshot));
        if let Some(luns) = api.resource("IscsiLunSnapshot") {
            verbs.push(Verb::Backup(Backup {
                create_snapshot,
                luns,
            }));
        }
    }
    for helper in HELPERS.into_iter().flatten() {
        if (helper.offered)(resource) {
            verbs.push(Verb::Helper(helper));
        }
    }
    verbs
}
