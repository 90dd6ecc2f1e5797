//! Streams over list operations that page with `first` and `after`.
//!
//! ```no_run
//! # async fn demo(client: cloudtower_api::Client) -> Result<(), cloudtower_api::Error> {
//! use futures_util::TryStreamExt;
//! use cloudtower_api::models::{GetVmsRequestBody, VmOrderByInput, VmWhereInput};
//!
//! let request = GetVmsRequestBody {
//!     r#where: VmWhereInput { name_starts_with: "web-".to_string().into(), ..Default::default() }.into(),
//!     order_by: VmOrderByInput::NameAsc.into(),
//!     ..Default::default()
//! };
//! let mut vms = std::pin::pin!(client.paginate(request).page_size(200).items());
//! while let Some(vm) = vms.try_next().await? {
//!     println!("{}", vm.name);
//! }
//! # Ok(()) }
//! ```
//!
//! [`Client::count`] counts what a list request matches with its `*-connection` operation,
//! and [`Client::reread`] reads resources again by id, for example once the tasks of a
//! mutation have ended (only ids are stable while a task runs):
//!
//! ```no_run
//! # async fn demo(client: cloudtower_api::Client) -> Result<(), cloudtower_api::Error> {
//! use cloudtower_api::models::{GetVmsRequestBody, VmStartParams, VmWhereInput};
//! use cloudtower_api::WaitForTasks;
//!
//! let stopped = VmWhereInput { status: cloudtower_api::models::VmStatus::Stopped.into(), ..Default::default() };
//! let request = GetVmsRequestBody { r#where: stopped.clone().into(), ..Default::default() };
//! println!("{} stopped VM(s)", client.count(&request).await?);
//!
//! let started = client.start_vm(&VmStartParams { r#where: stopped, ..Default::default() }).await?;
//! let vms = client.reread(&started.wait(&client).await?).await?;
//! # Ok(()) }
//! ```

use std::collections::HashMap;

use futures_util::future::BoxFuture;
use futures_util::{stream, Stream, TryStreamExt};

use crate::{Client, Error};

/// A `get-*` request body that pages with `first` + `after` (an item id), over items that
/// have an `id`. Implemented for every such operation of the API.
pub trait ListRequest: Clone + Send + Sync + 'static {
    type Item: Send + 'static;
    /// Asks for `first` items after the one with id `after`; clears the other paging fields.
    fn set_page(&mut self, first: i32, after: Option<String>);
    /// The id of `item`, the cursor for the next page.
    fn cursor(item: &Self::Item) -> &str;
    /// Sends the request.
    fn fetch(client: &Client, request: Self) -> BoxFuture<'static, Result<Vec<Self::Item>, Error>>;
}

/// A list request whose `where` can be counted by the module's `*-connection` operation
/// (`GetVms` → `GetVmsConnection`). Implemented for every such pair of the API.
pub trait CountRequest: ListRequest {
    /// Sends the count request for `request`'s `where` (its paging and order play no part).
    fn count(client: &Client, request: &Self) -> BoxFuture<'static, Result<u64, Error>>;
}

/// A resource that a list operation can read again by id (`where: {id_in: [...]}`).
/// Implemented for the item of one list operation per resource type.
pub trait RereadById: Sized + Send + 'static {
    type Request: ListRequest<Item = Self>;
    /// A request for exactly the resources with these ids.
    fn request_for_ids(ids: Vec<String>) -> Self::Request;
}

/// The pages of a list request; see [`Client::paginate`].
#[derive(Clone, Debug)]
#[must_use = "a paginator does nothing until its stream is polled"]
pub struct Paginator<R> {
    client: Client,
    request: R,
    page_size: i32,
}

impl Client {
    /// Pages through a list operation, keeping the request's `where` and `orderBy`.
    pub fn paginate<R: ListRequest>(&self, request: R) -> Paginator<R> {
        Paginator {
            client: self.clone(),
            request,
            page_size: 100,
        }
    }

    /// How many items the request's `where` matches, in one `*-connection` request.
    pub async fn count<R: CountRequest>(&self, request: &R) -> Result<u64, Error> {
        R::count(self, request).await
    }

    /// Reads `resources` again by id, in pages of 100 ids, and returns their current state in
    /// the same order. Resources that no longer exist (deleted meanwhile) are left out.
    pub async fn reread<T: RereadById>(&self, resources: &[T]) -> Result<Vec<T>, Error> {
        let ids: Vec<String> = resources
            .iter()
            .map(|r| <T::Request as ListRequest>::cursor(r).to_owned())
            .collect();
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut current: HashMap<String, T> = self
            .paginate(T::request_for_ids(ids.clone()))
            .collect()
            .await?
            .into_iter()
            .map(|item| (<T::Request as ListRequest>::cursor(&item).to_owned(), item))
            .collect();
        Ok(ids.iter().filter_map(|id| current.remove(id)).collect())
    }
}

impl<R: ListRequest> Paginator<R> {
    /// Items per request (default 100; at least 1).
    pub fn page_size(mut self, page_size: i32) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// The pages, one request each, until a page comes back short.
    pub fn pages(self) -> impl Stream<Item = Result<Vec<R::Item>, Error>> + Send {
        let Paginator {
            client,
            request,
            page_size,
        } = self;
        // The state is the cursor of the next page: `None` when done, `Some(None)` at first.
        stream::try_unfold(Some(None), move |cursor: Option<Option<String>>| {
            let (client, mut request) = (client.clone(), request.clone());
            async move {
                let Some(after) = cursor else {
                    return Ok(None);
                };
                request.set_page(page_size, after.clone());
                let page = R::fetch(&client, request).await?;
                let next = match page.last() {
                    // A server that ignores `after` would repeat the same page forever.
                    Some(last) if page.len() >= page_size as usize => {
                        let id = R::cursor(last);
                        (after.as_deref() != Some(id)).then(|| Some(id.to_owned()))
                    }
                    _ => None,
                };
                Ok((!page.is_empty()).then_some((page, next)))
            }
        })
    }

    /// The items of all pages, one by one.
    pub fn items(self) -> impl Stream<Item = Result<R::Item, Error>> + Send {
        self.pages()
            .map_ok(|page| stream::iter(page.into_iter().map(Ok)))
            .try_flatten()
    }

    /// All items of all pages.
    pub async fn collect(self) -> Result<Vec<R::Item>, Error> {
        self.pages().try_concat().await
    }
}

/// Implements [`ListRequest`]; the generated code invokes it for every list operation (a
/// `get-*` body with the paging fields, over items with an `id`), behind its feature.
macro_rules! list_request {
    ($request:ident => $item:ident, $method:ident) => {
        impl $crate::pagination::ListRequest for crate::models::$request {
            type Item = crate::models::$item;
            fn set_page(&mut self, first: i32, after: Option<String>) {
                self.first = first.into();
                self.after = after.map_or(crate::Nullable::Absent, crate::Nullable::Value);
                self.skip = crate::Nullable::Absent;
                self.before = crate::Nullable::Absent;
                self.last = crate::Nullable::Absent;
            }
            fn cursor(item: &Self::Item) -> &str {
                &item.id
            }
            fn fetch(
                client: &$crate::Client,
                request: Self,
            ) -> ::futures_util::future::BoxFuture<'static, Result<Vec<Self::Item>, $crate::Error>>
            {
                Box::pin(client.$method(&request))
            }
        }
    };
}
pub(crate) use list_request;

/// Implements [`CountRequest`] for a list request, with the connection operation's body and
/// method; the generated code invokes it next to [`list_request!`]. Unused when no enabled
/// module has a counted list operation (`default-features = false` alone).
#[allow(unused_macros)]
macro_rules! count_request {
    ($request:ident => $count_request:ident, $count_method:ident) => {
        impl $crate::pagination::CountRequest for crate::models::$request {
            fn count(
                client: &$crate::Client,
                request: &Self,
            ) -> ::futures_util::future::BoxFuture<'static, Result<u64, $crate::Error>> {
                let counter = crate::models::$count_request {
                    r#where: request.r#where.clone(),
                    ..::std::default::Default::default()
                };
                let answer = client.$count_method(&counter);
                // A count is never negative; the spec's type is a signed int32.
                Box::pin(
                    async move { Ok(u64::try_from(answer.await?.aggregate.count).unwrap_or(0)) },
                )
            }
        }
    };
}
#[allow(unused_imports)]
pub(crate) use count_request;

/// Implements [`RereadById`] for a list operation's item, with the operation's body and its
/// filter type; the generated code invokes it next to [`list_request!`].
macro_rules! reread_by_id {
    ($item:ident => $request:ident, $filter:ident) => {
        impl $crate::pagination::RereadById for crate::models::$item {
            type Request = crate::models::$request;
            fn request_for_ids(ids: Vec<String>) -> Self::Request {
                crate::models::$request {
                    r#where: crate::Nullable::Value(crate::models::$filter {
                        id_in: crate::Nullable::Value(ids),
                        ..::std::default::Default::default()
                    }),
                    ..::std::default::Default::default()
                }
            }
        }
    };
}
pub(crate) use reread_by_id;
