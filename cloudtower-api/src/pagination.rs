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
