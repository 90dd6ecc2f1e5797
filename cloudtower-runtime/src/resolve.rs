//! Finding one resource from what a person types: its id, its local id (the id SMTX OS gives
//! it) or its exact name.
//!
//! ```no_run
//! # async fn demo(client: cloudtower_api::Client) -> Result<(), cloudtower_api::Error> {
//! use cloudtower_api::models::Vm;
//! use cloudtower_api::error::{ErrorKind, WorkflowError};
//!
//! match client.resolve::<Vm>("web-1").await {
//!     Ok(vm) => println!("{} is {}", vm.name, vm.id),
//!     Err(err) => match err.kind() {
//!         ErrorKind::Workflow(WorkflowError::Ambiguous { candidates, .. }) => {
//!             println!("which one? {candidates:?}")
//!         }
//!         ErrorKind::Workflow(WorkflowError::NotFound { .. }) => println!("no such VM"),
//!         _ => return Err(err),
//!     },
//! }
//! # Ok(()) }
//! ```

use std::collections::HashSet;

use crate::codec::Decode;
pub use crate::error::ResolveKey;
use crate::error::WorkflowError;
use crate::pagination::{ListRequest, RereadById};
use crate::{Client, Error};

/// A resource that [`Client::resolve`] can find by id, local id or name. Implemented for the
/// item of one list operation per resource type whose filter has equality on some of `id`,
/// `local_id` and `name` (only those the spec has: [`keys`](Self::keys)).
///
/// The functions that say what the resource is take its
/// [`DynamicType`](RereadById::DynamicType): `()` for a generated item; for an item known
/// only at run time, the resource ([`Client::resolve_with`]).
pub trait Resolve: RereadById + Decode + Clone {
    /// The resource type, for errors (`Vm`).
    fn resource(dyn_type: &Self::DynamicType) -> &'static str;
    /// The fields the filter can match, in the order they win: `id`, then `local_id`, then
    /// `name`.
    fn keys(dyn_type: &Self::DynamicType) -> &'static [ResolveKey];
    /// A request for the resources whose `key` equals `value`; `None` for a key the filter
    /// lacks.
    fn request_by(
        dyn_type: &Self::DynamicType,
        key: ResolveKey,
        value: &str,
    ) -> Option<Self::Request>;
    /// One request for the resources whose any key equals `value` (`where: {OR: [{id},
    /// {local_id}, {name}]}`); `None` when the filter has no `OR`.
    fn request_by_any(dyn_type: &Self::DynamicType, value: &str) -> Option<Self::Request>;
    /// The value of `key` of this resource; `None` for a key the filter lacks.
    fn key_of(&self, key: ResolveKey) -> Option<&str>;
}

/// The most candidates an ambiguous match lists; one more is asked for, to tell "exactly
/// this many" from "at least this many".
pub const MAX_CANDIDATES: usize = 100;

impl Client {
    /// The one resource of type `T` whose id, local id or name is `key`.
    ///
    /// A resource whose `id` is `key` wins; else the one whose `local_id` is; else the one
    /// whose `name` is. Two or more resources matching at the first key that matches is
    /// [`WorkflowError::Ambiguous`], listing their ids (at most [`MAX_CANDIDATES`]); none is
    /// [`WorkflowError::NotFound`]. Only the keys the spec's filter has are tried ([`Resolve::keys`]).
    ///
    /// Sends one list request, `where: {OR: [{id: key}, {local_id: key}, {name: key}]}` with
    /// `first: 101`, where the filter has `OR`. When that answer is full (so a resource
    /// matching by id may have been left out of it) or the filter has no `OR`, it sends one
    /// request per key instead, in order, until one finds a resource.
    ///
    /// ```no_run
    /// # async fn demo(client: cloudtower_api::Client) -> Result<(), cloudtower_api::Error> {
    /// let vm = client.resolve::<cloudtower_api::models::Vm>("web-1").await?;
    /// # let _ = vm; Ok(()) }
    /// ```
    pub async fn resolve<T: Resolve>(&self, key: &str) -> Result<T, Error>
    where
        T::DynamicType: Default,
    {
        self.resolve_with(&T::DynamicType::default(), key).await
    }

    /// [`resolve`](Self::resolve) for a resource known only at run time: `dyn_type` says
    /// which resource it is.
    pub async fn resolve_with<T: Resolve>(
        &self,
        dyn_type: &T::DynamicType,
        key: &str,
    ) -> Result<T, Error> {
        let keys = T::keys(dyn_type);
        if let Some(request) = T::request_by_any(dyn_type, key) {
            let (items, full) = self.resolve_candidates::<T>(dyn_type, request).await?;
            if !full {
                let by = keys.iter().map(|k| (*k, &items[..]));
                return pick(dyn_type, key, by, false);
            }
        }
        for &by in keys {
            let Some(request) = T::request_by(dyn_type, by, key) else {
                continue;
            };
            let (items, full) = self.resolve_candidates::<T>(dyn_type, request).await?;
            if items.iter().any(|item| item.key_of(by) == Some(key)) {
                return pick(dyn_type, key, [(by, &items[..])], full);
            }
        }
        Err(WorkflowError::NotFound {
            resource: T::resource(dyn_type),
            key: key.to_owned(),
            searched: keys,
        }
        .into())
    }

    /// The distinct items of one capped request, and whether the answer was full.
    async fn resolve_candidates<T: Resolve>(
        &self,
        dyn_type: &T::DynamicType,
        mut request: T::Request,
    ) -> Result<(Vec<T>, bool), Error> {
        request.set_page(MAX_CANDIDATES as i32 + 1, None);
        let mut items: Vec<T> = self.execute(request.request(dyn_type)).await?.decode()?;
        let full = items.len() > MAX_CANDIDATES;
        let mut seen = HashSet::with_capacity(items.len());
        items.retain(|item| seen.insert(<T::Request as ListRequest>::cursor(item).to_owned()));
        Ok((items, full))
    }
}

/// The resource of `items` matching `key` at the first field that any matches, in the
/// order given. `more`: the answer was capped, so there are more candidates than listed.
fn pick<'a, T: Resolve>(
    dyn_type: &T::DynamicType,
    key: &str,
    by: impl IntoIterator<Item = (ResolveKey, &'a [T])>,
    more: bool,
) -> Result<T, Error> {
    for (field, items) in by {
        let matching: Vec<&T> = items
            .iter()
            .filter(|item| item.key_of(field) == Some(key))
            .collect();
        match matching[..] {
            [] => continue,
            // Ids are unique: the first resource with this id is the one.
            [one] | [one, ..] if field == ResolveKey::Id => return Ok(one.clone()),
            [one] => return Ok(one.clone()),
            _ => {}
        }
        return Err(WorkflowError::Ambiguous {
            resource: T::resource(dyn_type),
            key: key.to_owned(),
            matched: field,
            candidates: matching
                .iter()
                .take(MAX_CANDIDATES)
                .map(|item| <T::Request as ListRequest>::cursor(item).to_owned())
                .collect(),
            more: more || matching.len() > MAX_CANDIDATES,
        }
        .into());
    }
    Err(WorkflowError::NotFound {
        resource: T::resource(dyn_type),
        key: key.to_owned(),
        searched: T::keys(dyn_type),
    }
    .into())
}
