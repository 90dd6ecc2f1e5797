//! The generated side of the runtime contract: the client type, and the runtime traits
//! implemented for the types the spec gives the operations the runtime's workflows use
//! (login, task polling, pagination, counts, re-reads), plus the `cfg_<helper>!` macros.
//!
//! Everything here reads field shapes from the IR, so a spec version that reshapes a field
//! (required in one, optional in another) still gets code that compiles; one that lacks what
//! a workflow needs gets no impl, and the workflow is compiled out.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::TokenStream;
use quote::quote;

use super::{feature_name, ident, type_tokens, unset_value, Gates};
use crate::helpers::{self, HELPERS};
use crate::ir::{Api, Body, Field, Holding, Operation, Presence, TypeRef};
#[allow(clippy::enum_glob_use)]
use crate::runtime::RuntimeType::*;
use crate::runtime::{LOGIN_OPERATION, TASKS_OPERATION, TASK_STATES};

/// `value` as the field holds it.
fn wrap(field: &Field, value: TokenStream) -> TokenStream {
    match field.repr {
        Presence::Plain => value,
        Presence::Optional | Presence::RequiredNullable => {
            quote!(::std::option::Option::Some(#value))
        }
        Presence::Nullable => quote!(#Nullable::Value(#value)),
    }
}

/// A value of `ty` with the fields `sets` and every other field at its default.
///
/// Assigned one by one rather than written `Ty { field, ..Default::default() }`: the
/// struct-update form moves every other field out of the default value, and filters have
/// hundreds of fields; those moves were a quarter of the crate's machine code.
fn with_fields(ty: &TokenStream, sets: &[(&Field, TokenStream)]) -> TokenStream {
    let sets = sets.iter().map(|(field, value)| {
        let name = ident(&field.name);
        quote!(filled.#name = #value;)
    });
    quote!({
        let mut filled = <#ty as ::std::default::Default>::default();
        #(#sets)*
        filled
    })
}

/// `Option<&T>` of the field of `owner` (an expression of the struct).
fn read(owner: TokenStream, field: &Field) -> TokenStream {
    read_path(owner, &[step(field)])
}

/// `Option<&T>` at the end of `steps`, field by field from `root`.
fn read_path(root: TokenStream, steps: &[(Presence, TokenStream)]) -> TokenStream {
    let Some(((repr, first), rest)) = steps.split_first() else {
        return quote!(::std::option::Option::Some(&#root));
    };
    let mut path = match repr {
        Presence::Plain => quote!(::std::option::Option::Some(&#root.#first)),
        Presence::Optional | Presence::RequiredNullable => quote!(#root.#first.as_ref()),
        Presence::Nullable => quote!(#root.#first.as_option()),
    };
    for (repr, name) in rest {
        path = match repr {
            Presence::Plain => quote!(#path.map(|value| &value.#name)),
            Presence::Optional | Presence::RequiredNullable => {
                quote!(#path.and_then(|value| value.#name.as_ref()))
            }
            Presence::Nullable => quote!(#path.and_then(|value| value.#name.as_option())),
        };
    }
    path
}

fn step(field: &Field) -> (Presence, TokenStream) {
    let name = ident(&field.name);
    (field.repr, quote!(#name))
}

fn field<'a>(api: &'a Api, ty: &str, wire: &str) -> Option<&'a Field> {
    api.struct_fields(ty)?
        .iter()
        .find(|f| f.wire_name == wire && f.holding == Holding::Inline)
}

fn is_text(api: &Api, ty: &TypeRef) -> bool {
    match ty {
        TypeRef::String => true,
        TypeRef::Named(name) => api
            .type_named(name)
            .is_some_and(|t| matches!(t.kind, crate::ir::TypeKind::Enum { .. })),
        _ => false,
    }
}

fn is_integer(ty: &TypeRef) -> bool {
    matches!(ty, TypeRef::I32 | TypeRef::I64)
}

fn is_number(ty: &TypeRef) -> bool {
    // Those `f64::from` takes.
    matches!(ty, TypeRef::I32 | TypeRef::F32 | TypeRef::F64)
}

fn operation_at<'a>(api: &'a Api, path: &str) -> Option<&'a Operation> {
    api.operations.iter().find(|o| o.path == path)
}

/// The request of `operation` with `body` (an expression of a reference to its JSON body),
/// built from its table entry.
pub(super) fn request(operation: &Operation, body: TokenStream) -> TokenStream {
    let info = super::operation_info_path(operation);
    quote!(#info.json(#body))
}

/// What a list operation's `ListRequest` impl reads: a JSON body paging with `first` +
/// `after` over items with a string `id`.
struct ListShape<'a> {
    item_name: &'a str,
    body_name: &'a str,
    id: &'a Field,
    first: &'a Field,
    after: &'a Field,
}

fn list_shape<'a>(api: &'a Api, operation: &'a Operation) -> Option<ListShape<'a>> {
    let item_name = operation.pages_over.as_deref()?;
    let Body::Json(TypeRef::Named(body_name)) = &operation.body else {
        return None;
    };
    Some(ListShape {
        item_name,
        body_name,
        id: field(api, item_name, "id").filter(|f| f.ty == TypeRef::String)?,
        first: field(api, body_name, "first").filter(|f| f.ty == TypeRef::I32)?,
        after: field(api, body_name, "after").filter(|f| f.ty == TypeRef::String)?,
    })
}

/// What a list body's `CountRequest` impl reads: the `*-connection` operation with the same
/// `where`, answering `{aggregate: {count}}`.
struct CountShape<'a> {
    counter: &'a Operation,
    count_where: &'a Field,
    aggregate: &'a Field,
    count: &'a Field,
}

fn count_shape<'a>(api: &'a Api, operation: &Operation, body_name: &str) -> Option<CountShape<'a>> {
    let counter = operation_at(api, operation.counted_by.as_deref()?)?;
    let Body::Json(TypeRef::Named(count_body_name)) = &counter.body else {
        return None;
    };
    let Some(TypeRef::Named(answer_name)) = &counter.response else {
        return None;
    };
    let list_where = field(api, body_name, "where")?;
    let count_where = field(api, count_body_name.as_str(), "where")?;
    if (&list_where.ty, list_where.repr) != (&count_where.ty, count_where.repr) {
        return None;
    }
    // The count request sends the filter alone, so the counter must require nothing else.
    if api.struct_fields(count_body_name)?.iter().any(|f| {
        f.wire_name != count_where.wire_name
            && matches!(f.repr, Presence::Plain | Presence::RequiredNullable)
    }) {
        return None;
    }
    let aggregate = field(api, answer_name.as_str(), "aggregate")?;
    let count = field(api, aggregate.ty.named()?, "count").filter(|f| is_integer(&f.ty))?;
    Some(CountShape {
        counter,
        count_where,
        aggregate,
        count,
    })
}

/// What a list item's `RereadById` impl reads: (the filter type, the body's `where`, the
/// filter's `id_in`).
fn reread_shape<'a>(
    api: &'a Api,
    operation: &'a Operation,
    body_name: &str,
) -> Option<(&'a str, &'a Field, &'a Field)> {
    let filter_name = operation.rereads_by_id.as_deref()?;
    let r#where = field(api, body_name, "where")?;
    let id_in = field(api, filter_name, "id_in")?;
    Some((filter_name, r#where, id_in))
}

/// The runtime helpers a list operation's generated impls give it (for its documentation).
pub(super) struct ListHelpers<'a> {
    /// The item type of `Client::paginate` (`ListRequest`).
    pub item: &'a str,
    /// The operation `Client::count` sends (`CountRequest`).
    pub counted_by: Option<&'a Operation>,
    /// `Client::reread` re-reads the items through this operation (`RereadById`).
    pub rereads: bool,
}

/// The impls [`list_impls`] emits for `operation`, as a summary.
pub(super) fn list_helpers<'a>(api: &'a Api, operation: &'a Operation) -> Option<ListHelpers<'a>> {
    let shape = list_shape(api, operation)?;
    Some(ListHelpers {
        item: shape.item_name,
        counted_by: count_shape(api, operation, shape.body_name).map(|c| c.counter),
        rereads: reread_shape(api, operation, shape.body_name).is_some(),
    })
}

/// `ListRequest`, and where the spec allows, `CountRequest` and `RereadById`, for a list
/// operation.
pub(super) fn list_impls(api: &Api, operation: &Operation, gates: &Gates) -> Option<TokenStream> {
    let ListShape {
        item_name,
        body_name,
        id,
        first,
        after,
    } = list_shape(api, operation)?;
    let (item, body) = (ident(item_name), ident(body_name));
    let gate = gates.for_operation(operation);
    let first_name = ident(&first.name);
    let set_first = wrap(first, quote!(first));
    let after_name = ident(&after.name);
    let set_after = match after.repr {
        Presence::Plain => quote!(after.unwrap_or_default()),
        Presence::Optional | Presence::RequiredNullable => quote!(after),
        Presence::Nullable => quote!(after.map_or(#Nullable::Absent, #Nullable::Value)),
    };
    let cleared = ["skip", "before", "last"]
        .iter()
        .filter_map(|wire| field(api, body_name, wire))
        .map(|f| {
            let name = ident(&f.name);
            let value = unset_value(f);
            quote!(self.#name = #value;)
        });
    let id_name = ident(&id.name);
    let cursor = match id.repr {
        Presence::Plain => quote!(&item.#id_name),
        _ => quote!(item.#id_name.as_deref().unwrap_or_default()),
    };
    let list_request = request(operation, quote!(self));
    let method_name = operation.method_name.trim_start_matches("r#");
    let count = count_impl(api, operation, body_name, gates);
    let reread = reread_shape(api, operation, body_name).map(|(filter_name, r#where, id_in)| {
        let filter = ident(filter_name);
        let filter_value = wrap(
            r#where,
            with_fields(
                &quote!(crate::models::#filter),
                &[(id_in, wrap(id_in, quote!(ids)))],
            ),
        );
        let request = with_fields(&quote!(crate::models::#body), &[(r#where, filter_value)]);
        let resolve = resolve_impl(api, item_name, body_name, filter_name, r#where);
        let async_status = async_status_impl(api, item_name);
        let also = resolve.into_iter().chain(async_status);
        quote! {
            #(#gate #also)*
            #gate
            // Filled field by field on purpose: see `with_fields`.
            #[allow(clippy::field_reassign_with_default)]
            impl #RereadById for crate::models::#item {
                type DynamicType = ();
                type Request = crate::models::#body;
                fn request_for_ids(
                    _: &Self::DynamicType,
                    ids: ::std::vec::Vec<::std::string::String>,
                ) -> Self::Request {
                    #request
                }
            }
        }
    });
    Some(quote! {
        #gate
        impl #ListRequest for crate::models::#body {
            type Item = crate::models::#item;
            type DynamicType = ();
            fn set_page(&mut self, first: i32, after: ::std::option::Option<::std::string::String>) {
                self.#first_name = #set_first;
                self.#after_name = #set_after;
                #(#cleared)*
            }
            fn cursor(item: &Self::Item) -> &str {
                #cursor
            }
            fn request(&self, _: &Self::DynamicType) -> #ApiRequest {
                #list_request
            }
            fn method(_: &Self::DynamicType) -> &'static str {
                #method_name
            }
        }
        #count
        #reread
    })
}

/// The keys `Resolve` matches, as (wire name in the filter and the item, variant).
const RESOLVE_KEYS: [(&str, &str); 3] = [("id", "Id"), ("local_id", "LocalId"), ("name", "Name")];

/// `Resolve` for a re-read list item: for each of `id`, `local_id` and `name` that both the
/// filter (an equality on a string) and the item (a string) have, a request by that key, and
/// one request by all of them where the filter has `OR` (a list of itself).
fn resolve_impl(
    api: &Api,
    item_name: &str,
    body_name: &str,
    filter_name: &str,
    r#where: &Field,
) -> Option<TokenStream> {
    let keys: Vec<(TokenStream, &Field, &Field)> = RESOLVE_KEYS
        .iter()
        .filter_map(|(wire, variant)| {
            let by = field(api, filter_name, wire).filter(|f| f.ty == TypeRef::String)?;
            let of = field(api, item_name, wire).filter(|f| f.ty == TypeRef::String)?;
            let variant = ident(variant);
            Some((quote!(#ResolveKey::#variant), by, of))
        })
        .collect();
    if keys.is_empty() {
        return None;
    }
    let (item, body, filter) = (ident(item_name), ident(body_name), ident(filter_name));
    let (body_type, filter_type) = (quote!(crate::models::#body), quote!(crate::models::#filter));
    let request_with = |filter_value: TokenStream| {
        with_fields(&body_type, &[(r#where, wrap(r#where, filter_value))])
    };
    let filter_by = |by: &Field| {
        with_fields(
            &filter_type,
            &[(by, wrap(by, quote!(::std::string::String::from(value))))],
        )
    };
    let variants = keys.iter().map(|(variant, _, _)| variant);
    let by_key = keys.iter().map(|(variant, by, _)| {
        let filter = filter_by(by);
        quote!(#variant => #filter,)
    });
    let by_key_request = request_with(quote!(filter));
    let any = field(api, filter_name, "OR")
        .filter(|f| f.ty == TypeRef::Array(Box::new(TypeRef::Named(filter_name.to_owned()))))
        .map_or(
            quote!({
                let _ = value;
                ::std::option::Option::None
            }),
            |or| {
                let each = keys.iter().map(|(_, by, _)| filter_by(by));
                let any = wrap(or, quote!(::std::vec::Vec::from([#(#each),*])));
                let request = request_with(with_fields(&filter_type, &[(or, any)]));
                quote!(::std::option::Option::Some(#request))
            },
        );
    let of_key = keys.iter().map(|(variant, _, of)| {
        let name = ident(&of.name);
        let value = match of.repr {
            Presence::Plain => quote!(::std::option::Option::Some(self.#name.as_str())),
            Presence::Optional | Presence::RequiredNullable => quote!(self.#name.as_deref()),
            Presence::Nullable => {
                quote!(self.#name.as_option().map(::std::string::String::as_str))
            }
        };
        quote!(#variant => #value,)
    });
    Some(quote! {
        // Filled field by field on purpose: see `with_fields`.
        #[allow(clippy::field_reassign_with_default)]
        impl #Resolve for crate::models::#item {
            fn resource(_: &Self::DynamicType) -> &'static str {
                #item_name
            }
            fn keys(_: &Self::DynamicType) -> &'static [#ResolveKey] {
                &[#(#variants),*]
            }
            fn request_by(
                _: &Self::DynamicType,
                key: #ResolveKey,
                value: &str,
            ) -> ::std::option::Option<crate::models::#body> {
                let filter = match key {
                    #(#by_key)*
                    _ => return ::std::option::Option::None,
                };
                ::std::option::Option::Some(#by_key_request)
            }
            fn request_by_any(
                _: &Self::DynamicType,
                value: &str,
            ) -> ::std::option::Option<crate::models::#body> {
                #any
            }
            fn key_of(&self, key: #ResolveKey) -> ::std::option::Option<&str> {
                match key {
                    #(#of_key)*
                    _ => ::std::option::Option::None,
                }
            }
        }
    })
}

/// `AsyncStatus` for a re-read list item with a textual `entityAsyncStatus`.
fn async_status_impl(api: &Api, item_name: &str) -> Option<TokenStream> {
    let status = ["entityAsyncStatus", "entity_async_status"]
        .iter()
        .find_map(|wire| field(api, item_name, wire))
        .filter(|f| is_text(api, &f.ty))?;
    let item = ident(item_name);
    let value = read(quote!(self), status);
    Some(quote! {
        impl #AsyncStatus for crate::models::#item {
            fn resource(_: &Self::DynamicType) -> &'static str {
                #item_name
            }
            fn entity_async_status(&self) -> ::std::option::Option<&str> {
                #value.map(|status| status.as_str())
            }
        }
    })
}

/// `CountRequest` through the `*-connection` operation answering `{aggregate: {count}}`.
fn count_impl(
    api: &Api,
    operation: &Operation,
    body_name: &str,
    gates: &Gates,
) -> Option<TokenStream> {
    let CountShape {
        counter,
        count_where,
        aggregate,
        count,
    } = count_shape(api, operation, body_name)?;
    let gate = gates.for_operation(operation);
    // Also the counter's gate where it differs: `get-tasks` is always on,
    // `get-tasks-connection` is not.
    let count_gate = Some(gates.for_operation(counter))
        .filter(|count_gate| count_gate.to_string() != gate.to_string());
    let body = ident(body_name);
    let where_name = ident(&count_where.name);
    let where_wire = &count_where.wire_name;
    // The counter's body is the list's filter alone, encoded from the list's body as it is
    // (cloning the filter to build the counter's body was a tenth of the crate's code).
    let count_request = request(
        counter,
        quote!(&#SingleField(#where_wire, &self.#where_name)),
    );
    let count_path = [aggregate.wire_name.as_str(), count.wire_name.as_str()];
    Some(quote! {
        #gate
        #count_gate
        impl #CountRequest for crate::models::#body {
            fn count_request(&self, _: &Self::DynamicType) -> #ApiRequest {
                #count_request
            }
            fn count(response: #ApiResponse) -> ::std::result::Result<u64, #Error> {
                // Read by path, so that a missing count is an error rather than a default 0.
                response.count_at(&[#(#count_path),*])
            }
        }
    })
}

/// The task type of `get-tasks`, when it has what a task wait reads and can be re-read by id.
pub(super) fn task_type(api: &Api) -> Option<&str> {
    let tasks = operation_at(api, TASKS_OPERATION)?;
    tasks.rereads_by_id.as_ref()?;
    let task = tasks.pages_over.as_deref()?;
    field(api, task, "id").filter(|f| f.ty == TypeRef::String)?;
    field(api, task, "status").filter(|f| is_text(api, &f.ty))?;
    Some(task)
}

/// `TaskModel` for the task type of `get-tasks`.
fn task_model(api: &Api, gates: &Gates) -> Option<TokenStream> {
    let task_name = task_type(api)?;
    let gate = gates.for_operation(operation_at(api, TASKS_OPERATION)?);
    let task = ident(task_name);
    let id = read(quote!(self), field(api, task_name, "id")?);
    let status = read(quote!(self), field(api, task_name, "status")?);
    let text = |wire: &str| match field(api, task_name, wire).filter(|f| is_text(api, &f.ty)) {
        Some(f) if f.ty == TypeRef::String && f.repr == Presence::Optional => {
            let name = ident(&f.name);
            quote!(self.#name.as_deref())
        }
        Some(f) => {
            let value = read(quote!(self), f);
            quote!(#value.map(|value| value.as_str()))
        }
        None => quote!(::std::option::Option::None),
    };
    let (error_code, error_message) = (text("error_code"), text("error_message"));
    let progress = match field(api, task_name, "progress").filter(|f| is_number(&f.ty)) {
        Some(f) if f.ty == TypeRef::F64 => {
            let value = read(quote!(self), f);
            quote!(#value.copied())
        }
        Some(f) => {
            let value = read(quote!(self), f);
            quote!(#value.map(|progress| f64::from(*progress)))
        }
        None => quote!(::std::option::Option::None),
    };
    let states = TASK_STATES.iter().map(|(wire, state)| {
        let state = state.tokens();
        quote!(#wire => #state,)
    });
    Some(quote! {
        #gate
        impl #TaskModel for crate::models::#task {
            fn id(&self) -> &str {
                #id.map(|id| id.as_str()).unwrap_or_default()
            }
            fn state(&self) -> #TaskState {
                match #TaskModel::status(self) {
                    #(#states)*
                    _ => #TaskState::Running,
                }
            }
            fn status(&self) -> &str {
                #status.map(|status| status.as_str()).unwrap_or_default()
            }
            fn progress(&self) -> ::std::option::Option<f64> {
                #progress
            }
            fn error_code(&self) -> ::std::option::Option<&str> {
                #error_code
            }
            fn error_message(&self) -> ::std::option::Option<&str> {
                #error_message
            }
        }
    })
}

/// Where the login answer keeps the token: through `WithTask`'s `data` and objects' `data`
/// down to a string `token`.
fn token_path(api: &Api, answer: &TypeRef) -> Option<Vec<(Presence, TokenStream)>> {
    match answer {
        TypeRef::WithTask(inner) => {
            let mut path = vec![(Presence::Plain, quote!(data))];
            path.extend(token_path(api, inner)?);
            Some(path)
        }
        TypeRef::Named(name) => {
            if let Some(token) = field(api, name, "token").filter(|f| f.ty == TypeRef::String) {
                return Some(vec![step(token)]);
            }
            let data = field(api, name, "data")?;
            let mut path = vec![step(data)];
            path.extend(token_path(api, &data.ty)?);
            Some(path)
        }
        _ => None,
    }
}

/// The login body type, when the spec's login takes a username and a password and answers
/// with a token.
fn login_body(api: &Api) -> Option<(&Operation, &str)> {
    let login = operation_at(api, LOGIN_OPERATION)?;
    let Body::Json(TypeRef::Named(body)) = &login.body else {
        return None;
    };
    for wire in ["username", "password"] {
        field(api, body, wire).filter(|f| f.ty == TypeRef::String)?;
    }
    token_path(api, login.response.as_ref()?)?;
    Some((login, body))
}

/// `LoginRequest` for the login body: the credentials in the fields this spec has.
fn login_request(api: &Api, gates: &Gates) -> Option<TokenStream> {
    let (login, body_name) = login_body(api)?;
    let answer = type_tokens(login.response.as_ref()?);
    let token = read_path(quote!(answer), &token_path(api, login.response.as_ref()?)?);
    let gate = gates.for_operation(login);
    let fields = api.struct_fields(body_name)?;
    let mut checks = Vec::new();
    let mut values = Vec::new();
    let mut rest_defaulted = false;
    for f in fields {
        let name = ident(&f.name);
        let value = match f.wire_name.as_str() {
            "username" => wrap(f, quote!(::std::string::String::from(login.username()))),
            "password" => wrap(
                f,
                quote!(::std::string::String::from(login.password().expose())),
            ),
            option @ ("source" | "auth_config_id" | "mfa_type") => {
                let getter = ident(&format!("{option}_value"));
                let from_wire = match &f.ty {
                    TypeRef::String => quote!(::std::string::String::from(value)),
                    TypeRef::Named(enum_name) if is_text(api, &f.ty) => {
                        let enum_name = ident(enum_name);
                        quote!(crate::models::#enum_name::from_wire(value))
                    }
                    _ => {
                        rest_defaulted = true;
                        continue;
                    }
                };
                let set = wrap(f, from_wire);
                let default = match (option, f.repr) {
                    // Older specs require `source`: a local user unless told otherwise.
                    ("source", Presence::Plain) => {
                        quote!({ let value = "LOCAL"; #set })
                    }
                    _ => unset_value(f),
                };
                quote!(match login.#getter() { ::std::option::Option::Some(value) => #set, ::std::option::Option::None => #default })
            }
            _ => {
                rest_defaulted = true;
                continue;
            }
        };
        values.push(quote!(#name: #value,));
    }
    let rest = rest_defaulted.then(|| quote!(..::std::default::Default::default()));
    for option in ["source", "auth_config_id", "mfa_type"] {
        if !fields.iter().any(|f| f.wire_name == option) {
            let getter = ident(&format!("{option}_value"));
            let reason = format!("this CloudTower version's login has no `{option}`");
            checks.push(quote! {
                if login.#getter().is_some() {
                    return ::std::result::Result::Err(#PasswordLogin::unsupported(#reason));
                }
            });
        }
    }
    let body = ident(body_name);
    let login_request = request(login, quote!(&body));
    Some(quote! {
        #gate
        impl #LoginRequest for crate::models::#body {
            fn request(login: &#PasswordLogin) -> ::std::result::Result<#ApiRequest, #Error> {
                #(#checks)*
                let body = crate::models::#body {
                    #(#values)*
                    #rest
                };
                ::std::result::Result::Ok(#login_request)
            }
            fn token(response: #ApiResponse) -> ::std::result::Result<#Secret, #Error> {
                let answer: #answer = response.decode()?;
                match #token {
                    ::std::option::Option::Some(token) => ::std::result::Result::Ok(#Secret::new(::std::clone::Clone::clone(token))),
                    ::std::option::Option::None => ::std::result::Result::Err(#Error::unsupported("login", "the answer holds no token")),
                }
            }
        }
    })
}

/// The client type: the runtime's client with one method per operation, plus `sign_in` and
/// the task waits where the spec has what they need.
fn client(api: &Api) -> TokenStream {
    let header_methods = header_parameters(api).into_iter().map(|(header, taken_by)| {
        let method = ident(&header_method_name(&header));
        let all = taken_by == api.operations.len();
        let doc = format!(
            "The same client (same session and connections) sending the header parameter \
             `{header}: value` with each of its calls ({}). A call of an operation that \
             does not take it is refused before anything is sent, never sent without it. For \
             one call: `client.{}(value).get_vms(..)`.",
            if all {
                "every operation of this spec takes it".to_owned()
            } else {
                format!("{taken_by} of the {} operations of this spec take it", api.operations.len())
            },
            method
        );
        quote! {
            #[doc = #doc]
            #[must_use]
            pub fn #method(&self, value: impl ::std::convert::Into<::std::string::String>) -> Self {
                self.with_header_parameter(#header, value)
            }
        }
    });
    let sign_in = login_body(api).map(|(_, body)| {
        let body = ident(body);
        quote! {
            /// Logs in, sends the token with every later call, and keeps the credentials to
            /// log in again (once, shared by concurrent calls) when a call answers 401.
            pub async fn sign_in(&self, login: #PasswordLogin) -> ::std::result::Result<(), #Error> {
                self.0.sign_in_with::<crate::models::#body>(login).await
            }
        }
    });
    let tasks = task_type(api).map(|task| {
        let task = ident(task);
        quote! {
            /// Waits with the default options until the task succeeds, and returns it.
            pub async fn wait_task(&self, task_id: &str) -> ::std::result::Result<crate::models::#task, #Error> {
                self.wait_task_with(task_id, &::std::default::Default::default()).await
            }
            /// Waits until the task succeeds, and returns it.
            pub async fn wait_task_with(&self, task_id: &str, options: &#WaitOptions) -> ::std::result::Result<crate::models::#task, #Error> {
                let mut tasks = self.wait_tasks_with(&[::std::string::String::from(task_id)], options).await?;
                tasks.pop().ok_or_else(|| #Error::unsupported("get-tasks", "the wait returned no task"))
            }
            /// Waits with the default options until every task succeeds; returns them in
            /// the order of `task_ids`.
            pub async fn wait_tasks(&self, task_ids: &[::std::string::String]) -> ::std::result::Result<::std::vec::Vec<crate::models::#task>, #Error> {
                self.wait_tasks_with(task_ids, &::std::default::Default::default()).await
            }
            /// Waits until every task succeeds, polling all unfinished ones in one
            /// `get-tasks` request per poll; returns them in the order of `task_ids` (the
            /// runtime's `Client::wait_tasks_as`).
            pub async fn wait_tasks_with(&self, task_ids: &[::std::string::String], options: &#WaitOptions) -> ::std::result::Result<::std::vec::Vec<crate::models::#task>, #Error> {
                self.0.wait_tasks_as::<crate::models::#task>(task_ids, options).await
            }
            /// Waits until every task has ended and returns every outcome in the order of
            /// `task_ids`: a failed task does not stop the wait for the others (the
            /// runtime's `Client::wait_tasks_all_as`).
            pub async fn wait_tasks_all(&self, task_ids: &[::std::string::String], options: &#WaitOptions) -> ::std::result::Result<::std::vec::Vec<::std::result::Result<crate::models::#task, #TaskFailure>>, #Error> {
                self.0.wait_tasks_all_as::<crate::models::#task>(task_ids, options).await
            }
        }
    });
    let task_client = task_type(api).map(|task| {
        let task = ident(task);
        quote! {
            impl #TaskClient for Client {
                type Task = crate::models::#task;
                fn runtime(&self) -> &#Client {
                    &self.0
                }
            }
        }
    });
    quote! {
        /// A CloudTower API client: one method per operation of the spec, on top of the
        /// runtime's client (connection pool, session, retries, pagination, task waits), which
        /// it dereferences to. Cheap to clone; clones share the connections and the session.
        #[derive(Clone, Debug)]
        pub struct Client(#Client);

        impl Client {
            /// Starts configuring a client for the tower at `endpoint`
            /// (`https://tower.example.com`; `/v2/api` is appended).
            pub fn builder(endpoint: impl ::std::convert::Into<::std::string::String>) -> #ClientBuilder<Self> {
                #ClientBuilder::new(endpoint)
            }
            /// A client with the default settings for the tower at `endpoint`.
            pub fn new(endpoint: &str) -> ::std::result::Result<Self, #Error> {
                Self::builder(endpoint).build()
            }
            /// The same client (same session and connections) sending `content-language:
            /// language`.
            #[must_use]
            pub fn with_language(&self, language: #Language) -> Self {
                Client(self.0.with_language(language))
            }
            /// The same client (same session and connections) whose calls may each take up
            /// to `timeout` instead of the builder's (long uploads, slow reports).
            #[must_use]
            pub fn with_timeout(&self, timeout: ::std::time::Duration) -> Self {
                Client(self.0.with_timeout(timeout))
            }
            /// The same client (same session and connections) whose calls each end within
            /// `timeout` as a whole, retries and logging in again included (the runtime's
            /// `Client::with_call_timeout`).
            #[must_use]
            pub fn with_call_timeout(&self, timeout: ::std::time::Duration) -> Self {
                Client(self.0.with_call_timeout(timeout))
            }
            /// The same client (same session and connections) sending the header parameter
            /// `name: value` with each call of an operation that takes it; a call of one that
            /// does not is refused before anything is sent (the runtime's
            /// `Client::with_header_parameter`).
            #[must_use]
            pub fn with_header_parameter(&self, name: &'static str, value: impl ::std::convert::Into<::std::string::String>) -> Self {
                Client(self.0.with_header_parameter(name, value))
            }
            #(#header_methods)*
            #sign_in
            #tasks
        }

        impl ::std::convert::From<#Client> for Client {
            fn from(client: #Client) -> Self {
                Client(client)
            }
        }

        impl ::std::ops::Deref for Client {
            type Target = #Client;
            fn deref(&self) -> &#Client {
                &self.0
            }
        }

        #task_client
    }
}

/// Every header parameter the operations take (`external-cloudtower-id`), with how many
/// operations take it, by name.
fn header_parameters(api: &Api) -> BTreeMap<String, usize> {
    let mut headers: BTreeMap<String, usize> = BTreeMap::new();
    for operation in &api.operations {
        for header in &operation.headers {
            *headers.entry(header.wire_name.clone()).or_default() += 1;
        }
    }
    headers
}

/// The client method binding a header parameter (`external-cloudtower-id` →
/// `with_external_cloudtower_id`).
pub fn header_method_name(header: &str) -> String {
    use heck::ToSnakeCase;
    format!("with_{}", header.to_snake_case())
}

/// `cfg_<helper>!` for every helper of [`HELPERS`]: its items under the features of the
/// operations it calls, or nothing when the spec lacks something it needs
/// ([`helpers::support`]).
fn helper_macros(api: &Api, gates: &Gates) -> TokenStream {
    let macros = HELPERS.iter().map(|helper| {
        let name = ident(&format!("cfg_{}", helper.name));
        let support = helpers::support(api, helper);
        let supported = support.is_ok();
        let expansion = supported.then(|| {
            let features: BTreeSet<String> = helper
                .operations
                .iter()
                .filter_map(|need| operation_at(api, need.path))
                .filter(|o| gates.enabled && !o.always_on)
                .map(|o| feature_name(&o.module))
                .collect();
            let features = features.iter();
            quote!($( #[cfg(all(#(feature = #features),*))] $item )*)
        });
        let paths: Vec<&str> = helper.operations.iter().map(|need| need.path).collect();
        let doc = match support {
            Ok(()) => format!(
                "Keeps its items: the spec has what the `{}` helper needs ({}).",
                helper.name,
                paths.join(", ")
            ),
            Err(reason) => format!(
                "Drops its items: the `{}` helper needs what this spec lacks ({reason}).",
                helper.name
            ),
        };
        let exported = ident(&format!("cfg_{}_helper", helper.name));
        let feature = helper.name;
        let exported_doc = format!(
            "For crates built on this one (the command line): keeps its items when this crate \
             has the `{feature}` helper (feature `{feature}`, and a spec that supports it), so \
             that their code using it compiles out where a regenerated crate lacks it."
        );
        // The `cfg` is on the definitions, so it is evaluated here, with this crate's features
        // (in an expansion it would read the calling crate's). `{ kept } else { otherwise }`
        // chooses between two sets of items.
        let keeping = quote! {
            ({ $($kept:item)* } else { $($otherwise:item)* }) => { $($kept)* };
            ($($item:item)*) => { $($item)* };
        };
        let dropping = quote! {
            ({ $($kept:item)* } else { $($otherwise:item)* }) => { $($otherwise)* };
            ($($item:item)*) => {};
        };
        let exported = match (supported, gates.enabled) {
            (true, true) => quote! {
                #[doc = #exported_doc]
                #[doc(hidden)]
                #[cfg(feature = #feature)]
                #[macro_export]
                macro_rules! #exported { #keeping }
                #[doc = #exported_doc]
                #[doc(hidden)]
                #[cfg(not(feature = #feature))]
                #[macro_export]
                macro_rules! #exported { #dropping }
            },
            (true, false) => quote! {
                #[doc = #exported_doc]
                #[doc(hidden)]
                #[macro_export]
                macro_rules! #exported { #keeping }
            },
            (false, _) => quote! {
                #[doc = #exported_doc]
                #[doc(hidden)]
                #[macro_export]
                macro_rules! #exported { #dropping }
            },
        };
        quote! {
            #[doc = #doc]
            #[allow(unused_macros)]
            macro_rules! #name {
                ($($item:item)*) => { #expansion };
            }
            #[allow(unused_imports)]
            pub(crate) use #name;
            #exported
        }
    });
    quote!(#(#macros)*)
}

/// The features each helper needs (those of the modules of the operations it calls), for the
/// helpers the spec supports; `None` for one it does not.
pub fn helper_features(api: &Api) -> Vec<(&'static str, Option<BTreeSet<String>>)> {
    HELPERS
        .iter()
        .map(|helper| {
            let features = helpers::support(api, helper).is_ok().then(|| {
                helper
                    .operations
                    .iter()
                    .filter_map(|need| operation_at(api, need.path))
                    .filter(|o| !o.always_on)
                    .map(|o| feature_name(&o.module))
                    .collect()
            });
            (helper.name, features)
        })
        .collect()
}

/// What `mod.rs` holds of the contract.
pub(super) fn module_items(api: &Api, gates: &Gates) -> TokenStream {
    let client = client(api);
    let login = login_request(api, gates);
    let tasks = task_model(api, gates);
    let helpers = helper_macros(api, gates);
    quote! {
        #client
        #login
        #tasks
        #helpers
    }
}
