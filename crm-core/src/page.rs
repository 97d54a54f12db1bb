//! Paging and the list queries every backend answers.

use crate::{
    ids::UserId,
    input::{SearchTerm, ValidationErrors},
    role::{Role, Scope, Visibility},
    status::TicketStatus,
};
use serde::Serialize;

/// A validated page request: `page >= 1`, `size` 1-100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PageRequest {
    page: u32,
    size: u32,
}

impl PageRequest {
    /// Page size when none is asked for.
    pub const DEFAULT_SIZE: u32 = 10;
    /// Largest page a caller may ask for, so one request cannot pull the whole table.
    pub const MAX_SIZE: u32 = 100;

    /// Checks a request; `None` means the default.
    pub fn new(page: Option<i64>, size: Option<i64>) -> Result<Self, ValidationErrors> {
        let mut errs = ValidationErrors::default();
        let page = errs.check(
            "page",
            match page.unwrap_or(1) {
                p if (1..=i64::from(u32::MAX)).contains(&p) => Ok(p as u32),
                _ => Err("Page must be 1 or more.".to_owned()),
            },
        );
        let size = errs.check(
            "size",
            match size.unwrap_or(i64::from(Self::DEFAULT_SIZE)) {
                s if (1..=i64::from(Self::MAX_SIZE)).contains(&s) => Ok(s as u32),
                _ => Err(format!("Size must be between 1 and {}.", Self::MAX_SIZE)),
            },
        );
        match (page, size) {
            (Some(page), Some(size)) => Ok(Self { page, size }),
            _ => Err(errs),
        }
    }

    /// The 1-based page number.
    pub fn page(self) -> u32 {
        self.page
    }

    /// Items per page.
    pub fn size(self) -> u32 {
        self.size
    }

    /// How many items precede this page.
    pub fn offset(self) -> u64 {
        u64::from(self.page - 1) * u64::from(self.size)
    }

    /// Wraps one page of results with the counts a pager needs.
    pub fn page_of<T>(self, items: Vec<T>, total: u64) -> Page<T> {
        Page {
            items,
            total,
            page: self.page,
            size: self.size,
            pages: total.div_ceil(u64::from(self.size)),
        }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            page: 1,
            size: Self::DEFAULT_SIZE,
        }
    }
}

/// The paging and search every list takes, parsed once for all of them: every bad parameter
/// is reported together, and a blank search means no search.
pub fn parse_list(
    page: Option<i64>,
    size: Option<i64>,
    search: Option<&str>,
) -> Result<(PageRequest, Option<SearchTerm>), ValidationErrors> {
    let mut errs = ValidationErrors::default();
    let page = PageRequest::new(page, size)
        .map_err(|e| errs.0.extend(e.0))
        .ok();
    let search = errs.check("search", SearchTerm::parse(search.unwrap_or("")));
    match (page, search) {
        (Some(page), Some(search)) => Ok((page, search)),
        _ => Err(errs),
    }
}

/// One page of a list; past the end `items` is empty while `total` and `pages` stay true.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Page<T> {
    /// This page's items, newest first.
    pub items: Vec<T>,
    /// Items matching the filters, across all pages.
    pub total: u64,
    /// The page number asked for.
    pub page: u32,
    /// The page size asked for.
    pub size: u32,
    /// Number of pages (`0` when nothing matches).
    pub pages: u64,
}

/// A ticket list as a caller asks for it (before the facade applies visibility).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TicketFilter {
    /// Only this status.
    pub status: Option<TicketStatus>,
    /// Only this worker's tickets.
    pub worker_id: Option<UserId>,
    /// Case-insensitive title substring.
    pub search: Option<SearchTerm>,
}

/// A ticket list as a store must answer it: the caller's filter ANDed with its visibility.
/// Order is always newest first (`created_at` desc, then `id` desc).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TicketQuery {
    /// The caller's scope, applied inside the query.
    pub visibility: Visibility,
    /// The caller's filters.
    pub filter: TicketFilter,
    /// Which page.
    pub page: PageRequest,
}

impl TicketQuery {
    /// The tickets this query may return at all: visibility ANDed with the worker filter.
    pub fn scope(&self) -> Scope {
        self.visibility.scope(self.filter.worker_id)
    }
}

/// A user list: active accounts only, newest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Case-insensitive username substring.
    pub search: Option<SearchTerm>,
    /// Only this role.
    pub role: Option<Role>,
    /// Which page.
    pub page: PageRequest,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_requests() {
        let d = PageRequest::new(None, None).unwrap();
        assert_eq!((d.page(), d.size(), d.offset()), (1, 10, 0));
        let p = PageRequest::new(Some(3), Some(20)).unwrap();
        assert_eq!(p.offset(), 40);
        for (page, size) in [(0, 10), (-1, 10), (1, 0), (1, 101), (1, -5)] {
            assert!(
                PageRequest::new(Some(page), Some(size)).is_err(),
                "{page} {size}"
            );
        }
        let e = PageRequest::new(Some(0), Some(0)).unwrap_err();
        assert_eq!(e.0.len(), 2);
    }

    #[test]
    fn list_parameters_report_every_problem_at_once() {
        let e = parse_list(Some(0), Some(500), Some(&"s".repeat(201))).unwrap_err();
        let fields: Vec<&str> = e.0.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["page", "size", "search"]);
        let (p, s) = parse_list(None, None, Some("  ")).unwrap();
        assert_eq!((p, s), (PageRequest::default(), None));
    }

    #[test]
    fn pages_count() {
        let p = PageRequest::new(Some(5), Some(10)).unwrap();
        let page = p.page_of(Vec::<u8>::new(), 21);
        assert_eq!((page.pages, page.total, page.page), (3, 21, 5));
        assert_eq!(p.page_of(Vec::<u8>::new(), 0).pages, 0);
        assert_eq!(p.page_of(Vec::<u8>::new(), 30).pages, 3);
    }
}
