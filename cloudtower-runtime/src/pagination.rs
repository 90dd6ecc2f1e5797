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

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, RandomState};

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
    /// The client method that sends the request (`get_vms`), for errors.
    fn method() -> &'static str {
        "paginate"
    }
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

    /// Reads `resources` again by id, 100 ids per request, and returns their current state in
    /// the same order. Resources that no longer exist (deleted meanwhile) are left out.
    pub async fn reread<T: RereadById>(&self, resources: &[T]) -> Result<Vec<T>, Error> {
        let ids: Vec<String> = resources
            .iter()
            .map(|r| <T::Request as ListRequest>::cursor(r).to_owned())
            .collect();
        let mut current: HashMap<String, T> = HashMap::with_capacity(ids.len());
        // Each request names only its own ids: a request naming all of them, once per page,
        // would send n²/100 ids in all.
        for chunk in ids.chunks(REREAD_IDS_PER_REQUEST) {
            let items = self
                .paginate(T::request_for_ids(chunk.to_vec()))
                // One more than the ids: the first page is short, so it is the last.
                .page_size(REREAD_IDS_PER_REQUEST as i32 + 1)
                .collect()
                .await?;
            current.extend(
                items
                    .into_iter()
                    .map(|item| (<T::Request as ListRequest>::cursor(&item).to_owned(), item)),
            );
        }
        Ok(ids.iter().filter_map(|id| current.remove(id)).collect())
    }
}

const REREAD_IDS_PER_REQUEST: usize = 100;

/// The items a paginator has yielded, to catch a server whose pages do not advance or come
/// back to earlier items. Keeps a 64-bit keyed hash per item (8 bytes, not the id): with a
/// random key a server cannot make two ids collide on purpose, and by chance a collision
/// among a million items has odds of about 1 in 4·10⁷.
struct SeenItems {
    hasher: RandomState,
    hashes: HashSet<u64>,
}

impl SeenItems {
    fn new() -> Self {
        SeenItems {
            hasher: RandomState::new(),
            hashes: HashSet::new(),
        }
    }

    /// Records the ids of `page`; fails if one was seen before (on this page or an earlier one).
    fn record<R: ListRequest>(&mut self, page: &[R::Item]) -> Result<(), Error> {
        for item in page {
            let id = R::cursor(item);
            if !self.hashes.insert(self.hasher.hash_one(id)) {
                return Err(Error::Protocol {
                    operation: R::method(),
                    reason: format!(
                        "the list came back to item {id:?} after {} items: its pages do not \
                         advance (the server ignores `after`, or its cursor cycles)",
                        self.hashes.len()
                    ),
                });
            }
        }
        Ok(())
    }
}

impl<R: ListRequest> Paginator<R> {
    /// Items per request (default 100; at least 1).
    pub fn page_size(mut self, page_size: i32) -> Self {
        self.page_size = page_size.max(1);
        self
    }

    /// The pages, one request each, until a page comes back short.
    ///
    /// A page that holds an item already yielded (a server that ignores `after`, or whose
    /// cursor cycles) ends the stream with [`Error::Protocol`], before any of that page is
    /// yielded: no item comes twice, and a cycling server does not page forever.
    pub fn pages(self) -> impl Stream<Item = Result<Vec<R::Item>, Error>> + Send {
        let Paginator {
            client,
            request,
            page_size,
        } = self;
        // The state is the cursor of the next page (`None` when done, `Some(None)` at first)
        // and the items seen so far.
        let start = (Some(None), SeenItems::new());
        stream::try_unfold(
            start,
            move |(cursor, mut seen): (Option<Option<String>>, SeenItems)| {
                let (client, mut request) = (client.clone(), request.clone());
                async move {
                    let Some(after) = cursor else {
                        return Ok(None);
                    };
                    request.set_page(page_size, after);
                    let page: Vec<R::Item> = client.execute(request.request()).await?.decode()?;
                    seen.record::<R>(&page)?;
                    let next = match page.last() {
                        Some(last) if page.len() >= page_size as usize => {
                            Some(Some(R::cursor(last).to_owned()))
                        }
                        _ => None,
                    };
                    Ok((!page.is_empty()).then_some((page, (next, seen))))
                }
            },
        )
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
