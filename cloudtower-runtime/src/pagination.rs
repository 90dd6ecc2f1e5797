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

use futures_util::{stream, Stream, TryStreamExt};

use crate::client::{ApiRequest, ApiResponse};
use crate::codec::Decode;
use crate::{Client, Error};

/// A `get-*` request body that pages with `first` + `after` (an item id), over items that
/// have an `id`. Generated for every such operation of the API.
pub trait ListRequest: Clone + Send + Sync + 'static {
    type Item: Decode + Send + 'static;
    /// Asks for `first` items after the one with id `after`; clears the other paging fields.
    fn set_page(&mut self, first: i32, after: Option<String>);
    /// The id of `item`, the cursor for the next page.
    fn cursor(item: &Self::Item) -> &str;
    /// The list operation's request with this body.
    fn request(&self) -> ApiRequest;
}

/// A list request whose `where` can be counted by the module's `*-connection` operation
/// (`GetVms` → `GetVmsConnection`). Generated for every such pair of the API.
pub trait CountRequest: ListRequest {
    /// The count request for this request's `where` (its paging and order play no part).
    fn count_request(&self) -> ApiRequest;
    /// The count in the connection operation's answer.
    fn count(response: ApiResponse) -> Result<u64, Error>;
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
        R::count(self.execute(request.count_request()).await?)
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
                let page: Vec<R::Item> = client.execute(request.request()).await?.decode()?;
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
