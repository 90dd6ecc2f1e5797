//! Whether a regeneration breaks users: the committed inventory ([`crate::inventory`]) against
//! the new one, each difference classified as breaking (code that compiled may no longer
//! compile, or may now send something else) or additive, with the reason.
//!
//! The rules follow what the generated code is:
//! - a removed operation, type, field, variant or union alternative breaks; so does a changed
//!   method name, request or response type, field type, alias target or enum wire value;
//! - a field that became required breaks (its type changes, and a request built with
//!   `..Default::default()` would send a default), and so does a new required field of a
//!   request type; a new optional field is additive (structs are built with
//!   `..Default::default()`, as the README shows);
//! - a new enum variant is additive (enums are `#[non_exhaustive]`); a new alternative of a
//!   union told apart on the wire is breaking (it is an exhaustive enum of types);
//! - a type no longer used in requests (or responses) loses that codec direction without the
//!   `server` feature: breaking; gaining one is additive.

use std::collections::BTreeMap;
use std::fmt::Write as _;

/// What a regeneration does to users.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Impact {
    /// The API is the same.
    None,
    /// Only additions: a minor release (a patch one before 1.0 is not enough: 0.x minor).
    Additive,
    /// Something users may rely on changed or went away: a major release (0.x: minor).
    Breaking,
}

impl Impact {
    pub fn as_str(self) -> &'static str {
        match self {
            Impact::None => "no API change",
            Impact::Additive => "additive",
            Impact::Breaking => "breaking",
        }
    }
}

/// Every difference between two inventories, with the reason it breaks or adds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Classification {
    pub breaking: Vec<String>,
    pub additive: Vec<String>,
}

impl Classification {
    pub fn impact(&self) -> Impact {
        if !self.breaking.is_empty() {
            Impact::Breaking
        } else if !self.additive.is_empty() {
            Impact::Additive
        } else {
            Impact::None
        }
    }

    /// The verdict and its reasons as Markdown lists, at most `limit` lines per list.
    pub fn render(&self, limit: usize) -> String {
        let mut out = format!(
            "API change: {} ({} breaking, {} additive)\n",
            self.impact().as_str(),
            self.breaking.len(),
            self.additive.len()
        );
        for (title, reasons) in [("Breaking", &self.breaking), ("Added", &self.additive)] {
            if reasons.is_empty() {
                continue;
            }
            let _ = writeln!(out, "\n{title}:\n");
            for reason in reasons.iter().take(limit) {
                let _ = writeln!(out, "- {reason}");
            }
            if reasons.len() > limit {
                let _ = writeln!(
                    out,
                    "- … and {} more (see the diff of inventory.txt)",
                    reasons.len() - limit
                );
            }
        }
        out
    }

    /// A `CHANGELOG.md` entry for this regeneration: the CloudTower version it was generated
    /// from, the date (`YYYY-MM-DD`), the verdict and its reasons.
    pub fn changelog_entry(
        &self,
        cloudtower_version: &str,
        spec_sha256: &str,
        date: &str,
    ) -> String {
        format!(
            "## Unreleased: CloudTower {cloudtower_version} ({date})\n\n\
             Regenerated from CloudTower API {cloudtower_version} (spec sha256 `{spec_sha256}`). {}\n",
            self.render(200)
        )
    }
}

/// Puts `entry` above the newest entry of a `CHANGELOG.md` (after its title and preamble);
/// starts a changelog when `changelog` is empty.
pub fn prepend_entry(changelog: &str, entry: &str) -> String {
    if changelog.trim().is_empty() {
        return format!("# Changelog\n\n{entry}");
    }
    let at = if changelog.starts_with("## ") {
        Some(0)
    } else {
        changelog.find("\n## ").map(|i| i + 1)
    };
    match at {
        Some(at) => format!("{}{entry}\n{}", &changelog[..at], &changelog[at..]),
        None => format!("{}\n\n{entry}", changelog.trim_end()),
    }
}

/// Classifies the change from inventory `old` to inventory `new`.
pub fn classify(old: &str, new: &str) -> Classification {
    let (old, new) = (Parsed::new(old), Parsed::new(new));
    let mut out = Classification::default();
    classify_operations(&old, &new, &mut out);
    classify_types(&old, &new, &mut out);
    classify_members(&old, &new, &mut out);
    out
}

/// An inventory, split into its kinds of lines, each keyed by what it describes.
struct Parsed<'a> {
    /// Path → the rest of the `op` line.
    operations: BTreeMap<&'a str, Operation<'a>>,
    /// Type name → (kind, usage).
    types: BTreeMap<&'a str, (&'a str, &'a str)>,
    /// (type, member) → (line kind, the rest of the line).
    members: BTreeMap<(&'a str, &'a str), (&'a str, &'a str)>,
}

/// An `op` line: `op /PATH ID -> METHOD(REQUEST) -> RESPONSE | FLAG | …`.
#[derive(PartialEq)]
struct Operation<'a> {
    method: &'a str,
    request: &'a str,
    response: &'a str,
    /// `304`, `pages X`, `counted by /P`, `rereads by F.id_in` (not the reason for a rename).
    flags: BTreeMap<&'a str, &'a str>,
}

/// The flags of an `op` line that give a method helpers, with what they say.
const HELPER_FLAGS: [(&str, &str); 3] = [
    ("pages ", "paginates over"),
    ("counted by ", "is counted by"),
    ("rereads by ", "rereads by"),
];

impl<'a> Parsed<'a> {
    fn new(text: &'a str) -> Self {
        let mut parsed = Parsed {
            operations: BTreeMap::new(),
            types: BTreeMap::new(),
            members: BTreeMap::new(),
        };
        for line in text.lines() {
            let Some((kind, rest)) = line.split_once(' ') else {
                continue;
            };
            match kind {
                "op" => {
                    if let Some((path, operation)) = parse_operation(rest) {
                        parsed.operations.insert(path, operation);
                    }
                }
                "type" => {
                    let mut words = rest.split(' ');
                    if let (Some(name), Some(shape), Some(usage)) =
                        (words.next(), words.next(), words.next())
                    {
                        let kind = shape.split('/').next().unwrap_or(shape);
                        parsed.types.insert(name, (kind, usage));
                    }
                }
                "field" | "variant" | "alternative" => {
                    let split = if kind == "variant" { " = " } else { ": " };
                    if let Some((member, description)) = rest.split_once(split) {
                        if let Some((type_name, name)) = member.split_once('.') {
                            parsed
                                .members
                                .insert((type_name, name), (kind, description));
                        }
                    }
                }
                "alias" => {
                    if let Some((type_name, target)) = rest.split_once(" = ") {
                        parsed.members.insert((type_name, ""), (kind, target));
                    }
                }
                _ => {}
            }
        }
        parsed
    }
}

fn parse_operation(rest: &str) -> Option<(&str, Operation<'_>)> {
    let mut parts = rest.split(" | ");
    let (path, signature) = parts.next()?.split_once(' ')?;
    let (_, call) = signature.split_once(" -> ")?;
    let (method, call) = call.split_once('(')?;
    let (request, response) = call.rsplit_once(") -> ")?;
    let flags = parts
        .filter_map(|flag| {
            if flag == "304" {
                return Some((flag, ""));
            }
            HELPER_FLAGS
                .iter()
                .find_map(|(prefix, _)| Some((*prefix, flag.strip_prefix(prefix)?)))
        })
        .collect();
    Some((
        path,
        Operation {
            method,
            request,
            response,
            flags,
        },
    ))
}

fn classify_operations(old: &Parsed, new: &Parsed, out: &mut Classification) {
    for (path, before) in &old.operations {
        let Some(after) = new.operations.get(path) else {
            out.breaking.push(format!(
                "operation `{path}` removed (method `{}`)",
                before.method
            ));
            continue;
        };
        if before == after {
            continue;
        }
        for (what, was, is) in [
            ("method", before.method, after.method),
            ("request", before.request, after.request),
            ("response", before.response, after.response),
        ] {
            if was != is {
                out.breaking
                    .push(format!("operation `{path}`: {what} `{was}` became `{is}`"));
            }
        }
        let not_modified = |o: &Operation| o.flags.contains_key("304");
        if not_modified(before) != not_modified(after) {
            let now = if not_modified(after) {
                "now"
            } else {
                "no longer"
            };
            out.breaking.push(format!(
                "operation `{path}`: {now} answers 304 Not Modified (its return type changes)"
            ));
        }
        for (flag, says) in HELPER_FLAGS {
            match (before.flags.get(flag), after.flags.get(flag)) {
                (Some(was), None) => out
                    .breaking
                    .push(format!("operation `{path}`: no longer {says} `{was}`")),
                (None, Some(is)) => out
                    .additive
                    .push(format!("operation `{path}`: now {says} `{is}`")),
                (Some(was), Some(is)) if was != is => out
                    .breaking
                    .push(format!("operation `{path}`: {says} `{was}`, now `{is}`")),
                _ => {}
            }
        }
    }
    for (path, after) in &new.operations {
        if !old.operations.contains_key(path) {
            out.additive.push(format!(
                "operation `{path}` added (method `{}`)",
                after.method
            ));
        }
    }
}

fn classify_types(old: &Parsed, new: &Parsed, out: &mut Classification) {
    for (name, (kind, usage)) in &old.types {
        let Some((new_kind, new_usage)) = new.types.get(name) else {
            out.breaking.push(format!("type `{name}` removed"));
            continue;
        };
        if kind != new_kind {
            out.breaking
                .push(format!("type `{name}`: {kind} became {new_kind}"));
            continue;
        }
        for direction in ["request", "response"] {
            let (was, is) = (usage.contains(direction), new_usage.contains(direction));
            let codec = if direction == "request" {
                "encoding"
            } else {
                "decoding"
            };
            if was && !is {
                out.breaking.push(format!(
                    "type `{name}`: no longer in {direction}s (its {codec} needs the `server` feature)"
                ));
            } else if is && !was {
                out.additive.push(format!(
                    "type `{name}`: now in {direction}s ({codec} added)"
                ));
            }
        }
    }
    for name in new.types.keys() {
        if !old.types.contains_key(name) {
            out.additive.push(format!("type `{name}` added"));
        }
    }
}

/// A `field` line's description: `TYPE required|optional[ nullable]`.
fn field_parts(description: &str) -> (&str, bool, bool) {
    let (rest, nullable) = match description.strip_suffix(" nullable") {
        Some(rest) => (rest, true),
        None => (description, false),
    };
    match rest.rsplit_once(' ') {
        Some((ty, presence)) => (ty, presence == "required", nullable),
        None => (rest, false, nullable),
    }
}

fn classify_members(old: &Parsed, new: &Parsed, out: &mut Classification) {
    // Members of a type that was added, removed or changed kind are covered by that.
    let same_kind = |type_name: &str| {
        matches!((old.types.get(type_name), new.types.get(type_name)),
            (Some((a, _)), Some((b, _))) if a == b)
    };
    let in_requests = |type_name: &str| {
        new.types
            .get(type_name)
            .is_some_and(|(_, usage)| usage.contains("request"))
    };
    let label = |type_name: &str, name: &str| {
        if name.is_empty() {
            format!("`{type_name}`")
        } else {
            format!("`{type_name}::{name}`")
        }
    };
    for (&(type_name, name), &(kind, before)) in &old.members {
        if !same_kind(type_name) {
            continue;
        }
        let member = label(type_name, name);
        let Some(&(_, after)) = new.members.get(&(type_name, name)) else {
            out.breaking.push(format!("{kind} {member} removed"));
            continue;
        };
        if before == after {
            continue;
        }
        match kind {
            "field" => {
                let (was_type, was_required, was_nullable) = field_parts(before);
                let (is_type, is_required, is_nullable) = field_parts(after);
                if was_type != is_type {
                    out.breaking.push(format!(
                        "field {member}: type `{was_type}` became `{is_type}`"
                    ));
                }
                if is_required && !was_required {
                    out.breaking.push(format!("field {member} became required"));
                } else if was_required && !is_required && was_type == is_type {
                    out.additive
                        .push(format!("field {member} is no longer required"));
                }
                if was_nullable != is_nullable && was_type == is_type {
                    let now = if is_nullable { "now" } else { "no longer" };
                    out.additive
                        .push(format!("field {member} is {now} nullable"));
                }
            }
            "variant" => out.breaking.push(format!(
                "variant {member}: wire value `{before}` became `{after}`"
            )),
            _ => out
                .breaking
                .push(format!("{kind} {member}: `{before}` became `{after}`")),
        }
    }
    for (&(type_name, name), &(kind, after)) in &new.members {
        if !same_kind(type_name) || old.members.contains_key(&(type_name, name)) {
            continue;
        }
        let member = label(type_name, name);
        match kind {
            "field" => {
                let (ty, required, _) = field_parts(after);
                if required && in_requests(type_name) {
                    out.breaking.push(format!(
                        "required field {member} (`{ty}`) added to a request type: requests \
                         built with `..Default::default()` would send a default"
                    ));
                } else {
                    out.additive.push(format!("field {member} (`{ty}`) added"));
                }
            }
            "alternative" if old.types.get(type_name).is_some_and(|(k, _)| *k == "union") => {
                out.breaking.push(format!(
                    "alternative {member} (`{after}`) added to an exhaustive enum"
                ));
            }
            _ => out.additive.push(format!("{kind} {member} added")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "\
# Fixture 1.0.0: 2 operations, 4 types (4 component schemas)
op /get-vms GetVms -> get_vms(GetVmsRequestBody) -> Vec<Vm> | pages Vm
op /start-vm StartVm -> start_vm(VmStartParams) -> Vec<WithTask<Vm>>
type GetVmsRequestBody struct/1 request 000000000000
field GetVmsRequestBody.first: Option<i32> optional
type Vm struct/2 response 000000000000
field Vm.id: String required
field Vm.status: Option<VmStatus> optional nullable
type VmStartParams struct/1 request 000000000000
field VmStartParams.id: String required
type VmStatus enum/2 response 000000000000
variant VmStatus.Running = RUNNING
variant VmStatus.Stopped = STOPPED
type VmOrHost union/2 response 000000000000
alternative VmOrHost.Vm: Vm
alternative VmOrHost.Host: Host
type Ids alias/0 request 000000000000
alias Ids = Vec<String>
";

    fn changed(replacements: &[(&str, &str)]) -> String {
        replacements
            .iter()
            .fold(BASE.to_owned(), |text, (from, to)| {
                assert!(text.contains(from), "{from:?} is not in the base inventory");
                text.replacen(from, to, 1)
            })
    }

    #[test]
    fn the_same_inventory_is_no_change() {
        let classification = classify(BASE, BASE);
        assert_eq!(classification, Classification::default());
        assert_eq!(classification.impact(), Impact::None);
    }

    #[test]
    fn additions_are_additive() {
        let new = changed(&[
            (
                "op /start-vm",
                "op /stop-vm StopVm -> stop_vm(VmStartParams) -> Vec<WithTask<Vm>>\nop /start-vm",
            ),
            (
                "field Vm.id: String required\n",
                "field Vm.id: String required\nfield Vm.name: String required\n",
            ),
            (
                "field GetVmsRequestBody.first: Option<i32> optional\n",
                "field GetVmsRequestBody.first: Option<i32> optional\nfield GetVmsRequestBody.skip: Option<i32> optional\n",
            ),
            (
                "variant VmStatus.Stopped = STOPPED\n",
                "variant VmStatus.Stopped = STOPPED\nvariant VmStatus.Paused = PAUSED\n",
            ),
            ("type Ids alias", "type Host struct/0 response 000000000000\ntype Ids alias"),
            ("op /start-vm StartVm -> start_vm(VmStartParams) -> Vec<WithTask<Vm>>",
             "op /start-vm StartVm -> start_vm(VmStartParams) -> Vec<WithTask<Vm>> | counted by /get-vms-connection"),
            ("type VmStatus enum/2 response", "type VmStatus enum/2 request+response"),
        ]);
        let classification = classify(BASE, &new);
        assert_eq!(classification.breaking, Vec::<String>::new());
        assert_eq!(
            classification.additive,
            [
                "operation `/start-vm`: now is counted by `/get-vms-connection`",
                "operation `/stop-vm` added (method `stop_vm`)",
                "type `VmStatus`: now in requests (encoding added)",
                "type `Host` added",
                "field `GetVmsRequestBody::skip` (`Option<i32>`) added",
                "field `Vm::name` (`String`) added",
                "variant `VmStatus::Paused` added",
            ]
        );
        assert_eq!(classification.impact(), Impact::Additive);
    }

    #[test]
    fn removals_and_changes_are_breaking() {
        let new = changed(&[
            ("op /start-vm StartVm -> start_vm(VmStartParams) -> Vec<WithTask<Vm>>\n", ""),
            ("-> Vec<Vm> | pages Vm", "-> Vec<Vm>"),
            ("field Vm.status: Option<VmStatus> optional nullable", "field Vm.status: Option<String> optional nullable"),
            ("field GetVmsRequestBody.first: Option<i32> optional", "field GetVmsRequestBody.first: i32 required"),
            ("variant VmStatus.Stopped = STOPPED\n", ""),
            ("variant VmStatus.Running = RUNNING", "variant VmStatus.Running = RUN"),
            ("alias Ids = Vec<String>", "alias Ids = Vec<i64>"),
            ("alternative VmOrHost.Host: Host\n", "alternative VmOrHost.Host: Host\nalternative VmOrHost.Cluster: Cluster\n"),
            (
                "field VmStartParams.id: String required\n",
                "field VmStartParams.id: String required\nfield VmStartParams.force: bool required\n",
            ),
        ]);
        let classification = classify(BASE, &new);
        assert_eq!(
            classification.breaking,
            [
                "operation `/get-vms`: no longer paginates over `Vm`",
                "operation `/start-vm` removed (method `start_vm`)",
                "field `GetVmsRequestBody::first`: type `Option<i32>` became `i32`",
                "field `GetVmsRequestBody::first` became required",
                "alias `Ids`: `Vec<String>` became `Vec<i64>`",
                "field `Vm::status`: type `Option<VmStatus>` became `Option<String>`",
                "variant `VmStatus::Running`: wire value `RUNNING` became `RUN`",
                "variant `VmStatus::Stopped` removed",
                "alternative `VmOrHost::Cluster` (`Cluster`) added to an exhaustive enum",
                "required field `VmStartParams::force` (`bool`) added to a request type: \
                 requests built with `..Default::default()` would send a default",
            ]
        );
        assert_eq!(classification.additive, Vec::<String>::new());
        assert_eq!(classification.impact(), Impact::Breaking);
    }

    #[test]
    fn a_removed_type_is_one_reason_not_one_per_member() {
        let new = changed(&[(
            "type VmStatus enum/2 response 000000000000\nvariant VmStatus.Running = RUNNING\nvariant VmStatus.Stopped = STOPPED\n",
            "",
        ), ("type Vm struct/2", "type Vm enum/2")]);
        assert_eq!(
            classify(BASE, &new).breaking,
            ["type `Vm`: struct became enum", "type `VmStatus` removed"]
        );
    }

    #[test]
    fn a_field_no_longer_required_with_the_same_type_is_additive() {
        let new = changed(&[(
            "field Vm.status: Option<VmStatus> optional nullable",
            "field Vm.status: Option<VmStatus> required nullable",
        )]);
        assert_eq!(
            classify(&new, BASE).additive,
            ["field `Vm::status` is no longer required"]
        );
        assert_eq!(
            classify(BASE, &new).breaking,
            ["field `Vm::status` became required"]
        );
    }

    #[test]
    fn entries_go_above_the_newest_entry() {
        let classification = classify(
            BASE,
            &changed(&[("variant VmStatus.Stopped = STOPPED\n", "")]),
        );
        let entry = classification.changelog_entry("4.7.0", "abc", "2026-01-02");
        assert!(
            entry.starts_with("## Unreleased: CloudTower 4.7.0 (2026-01-02)\n"),
            "{entry}"
        );
        assert!(
            entry.contains("API change: breaking (1 breaking, 0 additive)"),
            "{entry}"
        );
        assert!(
            entry.contains("- variant `VmStatus::Stopped` removed\n"),
            "{entry}"
        );

        let changelog = "# Changelog\n\nIntro.\n\n## 0.1.0\n\nFirst.\n";
        let updated = prepend_entry(changelog, "## New\n\nText.\n");
        assert_eq!(
            updated,
            "# Changelog\n\nIntro.\n\n## New\n\nText.\n\n## 0.1.0\n\nFirst.\n"
        );
        assert_eq!(prepend_entry("", "## New\n"), "# Changelog\n\n## New\n");
        assert_eq!(
            prepend_entry("# Changelog\n", "## New\n"),
            "# Changelog\n\n## New\n"
        );
    }

    #[test]
    fn long_lists_are_cut_with_a_count() {
        let classification = Classification {
            breaking: Vec::new(),
            additive: (0..5).map(|i| format!("type `T{i}` added")).collect(),
        };
        let text = classification.render(2);
        assert!(text.contains("- type `T1` added\n- … and 3 more"), "{text}");
        assert!(!text.contains("T2"), "{text}");
    }
}
