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
///
/// What the type does not say is its [`DynamicType`](Self::DynamicType), given to the
/// functions that name the operation or build its request: `()` for a generated body, whose
/// type is its operation; a description of the resource for a request known only at run
/// time (a JSON body, as the CLI builds from the API table), through the `*_with` methods
/// ([`Client::paginate_with`], [`Client::count_with`]).
pub trait ListRequest: Clone + Send + Sync + 'static {
    type Item: Decode + Send + 'static;
    /// What is known of the request only at run time (`()` when its type says it all).
    type DynamicType: Clone + Send + Sync + 'static;
    /// Asks for `first` items after the one with id `after`; clears the other paging fields.
    fn set_page(&mut self, first: i32, after: Option<String>);
    /// The id of `item`, the cursor for the next page.
    fn cursor(item: &Self::Item) -> &str;
    /// The list operation's request with this body.
    fn request(&self, dyn_type: &Self::DynamicType) -> ApiRequest;
    /// The client method that sends the request (`get_vms`), for errors.
    fn method(dyn_type: &Self::DynamicType) -> &'static str {
        let _ = dyn_type;
        "paginate"
    }
}

/// A list request whose `where` can be counted by the module's `*-connection` operation
/// (`GetVms` → `GetVmsConnection`). Generated for every such pair of the API.
pub trait CountRequest: ListRequest {
    /// The count request for this request's `where` (its paging and order play no part).
    fn count_request(&self, dyn_type: &Self::DynamicType) -> ApiRequest;
    /// The count in the connection operation's answer (generated as
    /// [`ApiResponse::count_at`] with the path the spec gives it).
    fn count(response: ApiResponse) -> Result<u64, Error>;
}

/// A resource that a list operation can read again by id (`where: {id_in: [...]}`).
/// Implemented for the item of one list operation per resource type.
///
/// Its [`DynamicType`](Self::DynamicType) is its list request's: `()` for a generated item;
/// for an item known only at run time, which resource it is ([`Client::reread_with`],
/// [`Client::resolve_with`]).
pub trait RereadById: Sized + Send + 'static {
    /// What is known of the resource only at run time (`()` when its type says it all).
    type DynamicType: Clone + Send + Sync + 'static;
    type Request: ListRequest<Item = Self, DynamicType = Self::DynamicType>;
    /// A request for exactly the resources with these ids.
    fn request_for_ids(dyn_type: &Self::DynamicType, ids: Vec<String>) -> Self::Request;
}

/// The pages of a list request; see [`Client::paginate`].
#[derive(Clone, Debug)]
#[must_use = "a paginator does nothing until its stream is polled"]
pub struct Paginator<R: ListRequest> {
    client: Client,
    dyn_type: R::DynamicType,
    request: R,
    page_size: i32,
}

impl Client {
    /// Pages through a list operation, keeping the request's `where` and `orderBy`.
    pub fn paginate<R: ListRequest>(&self, request: R) -> Paginator<R>
    where
        R::DynamicType: Default,
    {
        self.paginate_with(&R::DynamicType::default(), request)
    }

    /// [`paginate`](Self::paginate) for a list request known only at run time: `dyn_type`
    /// says which operation it is.
    pub fn paginate_with<R: ListRequest>(
        &self,
        dyn_type: &R::DynamicType,
        request: R,
    ) -> Paginator<R> {
        Paginator {
            client: self.clone(),
            dyn_type: dyn_type.clone(),
            request,
            page_size: 100,
        }
    }

    /// How many items the request's `where` matches, in one `*-connection` request.
    pub async fn count<R: CountRequest>(&self, request: &R) -> Result<u64, Error>
    where
        R::DynamicType: Default,
    {
        self.count_with(&R::DynamicType::default(), request).await
    }

    /// [`count`](Self::count) for a list request known only at run time.
    pub async fn count_with<R: CountRequest>(
        &self,
        dyn_type: &R::DynamicType,
        request: &R,
    ) -> Result<u64, Error> {
        R::count(self.execute(request.count_request(dyn_type)).await?)
    }

    /// Reads `resources` again by id and returns their current state in the same order, one
    /// per resource given (a resource given twice comes back twice). Resources that no longer
    /// exist (deleted meanwhile) are left out.
    ///
    /// Each request names at most 100 ids, and only ids not found yet: a server that caps its
    /// answers is asked again for the rest, and a request that finds none of them ends the
    /// search for those ids.
    pub async fn reread<T: RereadById + Decode + Clone>(
        &self,
        resources: &[T],
    ) -> Result<Vec<T>, Error>
    where
        T::DynamicType: Default,
    {
        self.reread_with(&T::DynamicType::default(), resources)
            .await
    }

    /// [`reread`](Self::reread) for resources known only at run time: `dyn_type` says which
    /// resource they are.
    pub async fn reread_with<T: RereadById + Decode + Clone>(
        &self,
        dyn_type: &T::DynamicType,
        resources: &[T],
    ) -> Result<Vec<T>, Error> {
        let ids: Vec<&str> = resources
            .iter()
            .map(<T::Request as ListRequest>::cursor)
            .collect();
        let mut unique: Vec<&str> = Vec::with_capacity(ids.len());
        let mut wanted: HashSet<&str> = HashSet::with_capacity(ids.len());
        for id in &ids {
            if wanted.insert(id) {
                unique.push(id);
            }
        }
        let mut current: HashMap<String, T> = self.reread_ids(dyn_type, &unique).await?;
        // The last copy of each resource is moved out, earlier ones (a resource given twice)
        // cloned.
        let mut left: HashMap<&str, usize> = HashMap::with_capacity(unique.len());
        for id in &ids {
            *left.entry(id).or_default() += 1;
        }
        Ok(ids
            .iter()
            .filter_map(|id| {
                let count = left.get_mut(id)?;
                *count -= 1;
                if *count == 0 {
                    current.remove(*id)
                } else {
                    current.get(*id).cloned()
                }
            })
            .collect())
    }

    /// The current state of the resources with these (distinct) ids, by id; those that no
    /// longer exist are left out. The requests of [`reread`](Self::reread).
    pub(crate) async fn reread_ids<T: RereadById + Decode>(
        &self,
        dyn_type: &T::DynamicType,
        unique: &[&str],
    ) -> Result<HashMap<String, T>, Error> {
        let mut current: HashMap<String, T> = HashMap::with_capacity(unique.len());
        // Each request names only its own ids: a request naming all of them, once per page,
        // would send n²/100 ids in all.
        for chunk in unique.chunks(REREAD_IDS_PER_REQUEST) {
            let mut missing: Vec<&str> = chunk.to_vec();
            while !missing.is_empty() {
                let mut request =
                    T::request_for_ids(dyn_type, missing.iter().map(|id| id.to_string()).collect());
                request.set_page(missing.len() as i32, None);
                let items: Vec<T> = self.execute(request.request(dyn_type)).await?.decode()?;
                let before = missing.len();
                for item in items {
                    let id = <T::Request as ListRequest>::cursor(&item);
                    if let Some(at) = missing.iter().position(|m| *m == id) {
                        missing.swap_remove(at);
                        current.insert(id.to_owned(), item);
                    }
                }
                if missing.len() == before {
                    break; // None of them exists any more.
                }
            }
        }
        Ok(current)
    }
}

const REREAD_IDS_PER_REQUEST: usize = 100;

/// Where a paginator is.
struct PageState {
    /// The cursor of the next page: `Some(None)` at first, `None` when done.
    after: Option<Option<String>>,
    /// The most items a page has held (the server's cap, when it has one).
    longest: usize,
    seen: SeenItems,
}

/// The items a paginator has yielded, so that none is yielded twice and a server whose pages
/// do not advance is caught. Keeps a 64-bit keyed hash per item (8 bytes, not the id): with a
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

    /// Drops the items of `page` seen before (on this page or an earlier one): an item can
    /// come back legitimately when the list's order moves it while it is paged (a VM renamed
    /// under `orderBy: name`). A page of nothing but such items does not advance: the server
    /// ignores `after`, or its cursor cycles, and the list would never end.
    fn keep_new<R: ListRequest>(
        &mut self,
        dyn_type: &R::DynamicType,
        page: &mut Vec<R::Item>,
    ) -> Result<(), Error> {
        let first = match page.first() {
            Some(item) => R::cursor(item).to_owned(),
            None => return Ok(()),
        };
        let received = page.len();
        page.retain(|item| self.hashes.insert(self.hasher.hash_one(R::cursor(item))));
        if page.is_empty() {
            return Err(Error::protocol(
                R::method(dyn_type),
                format!(
                    "a page of {received} items (from {first:?}) holds only items already \
                     listed, after {} items: the pages do not advance (the server ignores \
                     `after`, or its cursor cycles)",
                    self.hashes.len()
                ),
            ));
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

    /// The pages, one request each, until a page comes back empty, or shorter than an
    /// earlier page.
    ///
    /// A short page alone does not end the list: a server may cap `first` below the page size
    /// (its pages are then all as long as its cap, but for the last), so a list whose first
    /// page is short takes one more request, which comes back empty.
    ///
    /// No item is yielded twice: one that comes back (the list's order moved it while it was
    /// paged) is left out of its later page. A page holding only items already yielded (a
    /// server that ignores `after`, or whose cursor cycles) ends the stream with
    /// [`ResponseError::Protocol`](crate::error::ResponseError::Protocol): a cycling server does not page forever.
    pub fn pages(self) -> impl Stream<Item = Result<Vec<R::Item>, Error>> + Send {
        let Paginator {
            client,
            dyn_type,
            request,
            page_size,
        } = self;
        let start = PageState {
            after: Some(None),
            longest: 0,
            seen: SeenItems::new(),
        };
        stream::try_unfold(start, move |mut state: PageState| {
            let (client, dyn_type, mut request) =
                (client.clone(), dyn_type.clone(), request.clone());
            async move {
                let Some(after) = state.after.take() else {
                    return Ok(None);
                };
                request.set_page(page_size, after);
                let mut page: Vec<R::Item> =
                    client.execute(request.request(&dyn_type)).await?.decode()?;
                let received = page.len();
                let last = page.last().map(|item| R::cursor(item).to_owned());
                state.seen.keep_new::<R>(&dyn_type, &mut page)?;
                // A page shorter than one before it is the last: a capping server's pages
                // are as long as its cap.
                let shorter = received < state.longest;
                state.longest = state.longest.max(received);
                if !shorter && received < page_size as usize {
                    tracing::debug!(received, page_size, "a short page; asking for more");
                }
                state.after = match last {
                    Some(last) if !shorter => Some(Some(last)),
                    _ => None,
                };
                if received == 0 {
                    return Ok(None);
                }
                Ok(Some((page, state)))
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
