//! The error every storage port returns, and paging shared by every listing.

use std::error::Error as StdError;

type Source = Box<dyn StdError + Send + Sync + 'static>;

/// A storage failure, classified so callers can act on it: `Unavailable` becomes a 503,
/// `Conflict` a 409, anything else a 500. The source is kept for logs; it must never
/// carry key material (adapters bind secrets as parameters, never into SQL text).
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// A uniqueness rule was broken; the string names the rule (e.g. `url_name`).
    #[error("conflict: {0} already exists")]
    Conflict(&'static str),
    /// The backend could not be reached or timed out; retrying later may work.
    #[error("storage unavailable")]
    Unavailable(#[source] Source),
    /// Any other failure (bad data, a bug, a constraint the domain should have caught).
    #[error("storage failure")]
    Other(#[source] Source),
}

impl StorageError {
    pub fn unavailable(source: impl Into<Source>) -> Self {
        Self::Unavailable(source.into())
    }

    pub fn other(source: impl Into<Source>) -> Self {
        Self::Other(source.into())
    }
}

/// Smallest page number.
pub const FIRST_PAGE: u32 = 1;
/// Largest page number: the largest int32, so a page number fits every client's integer
/// type and the `int32` the API documents (a larger one is refused, never wrapped).
#[allow(
    clippy::cast_sign_loss,
    reason = "i32::MAX is positive; `u32::try_from` is not const"
)]
pub const MAX_PAGE: u32 = i32::MAX as u32;
/// Largest page size.
pub const MAX_PAGE_LIMIT: u32 = 100;

/// A page request: `page` in 1..=[`MAX_PAGE`] and `limit` in 1..=100.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u32,
    limit: u32,
}

/// A page request outside the allowed ranges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PageRequestError {
    #[error("page must be between 1 and {MAX_PAGE}")]
    Page,
    #[error("limit must be between 1 and {MAX_PAGE_LIMIT}")]
    Limit,
}

impl PageRequest {
    pub fn new(page: u32, limit: u32) -> Result<Self, PageRequestError> {
        if !(FIRST_PAGE..=MAX_PAGE).contains(&page) {
            return Err(PageRequestError::Page);
        }
        if limit == 0 || limit > MAX_PAGE_LIMIT {
            return Err(PageRequestError::Limit);
        }
        Ok(Self { page, limit })
    }

    pub fn page(self) -> u32 {
        self.page
    }

    pub fn limit(self) -> u32 {
        self.limit
    }

    /// Rows to skip.
    pub fn offset(self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.limit)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self { page: 1, limit: 20 }
    }
}

/// One page of results plus the total across all pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: u64,
    pub request: PageRequest,
}

impl<T> Page<T> {
    /// Number of pages for `total` at this page size (0 when there is nothing).
    pub fn total_pages(&self) -> u64 {
        self.total.div_ceil(u64::from(self.request.limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_request_bounds() {
        assert_eq!(PageRequest::new(0, 20), Err(PageRequestError::Page));
        assert_eq!(
            PageRequest::new(2_147_483_648, 20),
            Err(PageRequestError::Page)
        );
        assert_eq!(
            PageRequest::new(2_147_483_647, 20).map(PageRequest::page),
            Ok(2_147_483_647)
        );
        assert_eq!(PageRequest::new(1, 0), Err(PageRequestError::Limit));
        assert_eq!(PageRequest::new(1, 101), Err(PageRequestError::Limit));
        assert_eq!(PageRequest::new(3, 100).map(PageRequest::offset), Ok(200));
    }

    #[test]
    fn total_pages_rounds_up() {
        let page = |total| Page::<()> {
            items: vec![],
            total,
            request: PageRequest::new(1, 20).unwrap(),
        };
        assert_eq!(page(0).total_pages(), 0);
        assert_eq!(page(20).total_pages(), 1);
        assert_eq!(page(21).total_pages(), 2);
    }
}
