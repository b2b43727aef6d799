//! Repositories inside a [`Pool`]: creating them, loading rpm-md XML or a `.solv` file,
//! writing a `.solv` file and building the provides index.

use std::ffi::{CStr, CString};
use std::path::Path;
use std::ptr::NonNull;

use super::pool::{Id, Pool};
use super::sys;
use crate::error::DepsolveError;

/// Handle of a repo inside a [`Pool`] (index into `pool->repos`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RepoHandle(i32);

/// A C `FILE*` closed on drop.
struct CFile(NonNull<sys::FILE>);

impl CFile {
    fn open_read(path: &Path) -> Result<Self, DepsolveError> {
        let c = path_cstring(path)?;
        // SAFETY: both arguments are valid NUL-terminated strings; solv_xfopen returns NULL
        // on failure, which we check. It transparently decompresses gz/xz/zst/bz2.
        let fp = unsafe { sys::solv_xfopen(c.as_ptr(), c"r".as_ptr()) };
        NonNull::new(fp)
            .map(CFile)
            .ok_or_else(|| DepsolveError::io(path, std::io::Error::last_os_error()))
    }

    fn create(path: &Path) -> Result<Self, DepsolveError> {
        let c = path_cstring(path)?;
        // SAFETY: valid NUL-terminated path and mode; NULL is checked.
        let fp = unsafe { sys::fopen(c.as_ptr(), c"wb".as_ptr()) };
        NonNull::new(fp)
            .map(CFile)
            .ok_or_else(|| DepsolveError::io(path, std::io::Error::last_os_error()))
    }

    /// Close explicitly, reporting write errors.
    fn close(self, path: &Path) -> Result<(), DepsolveError> {
        let fp = self.0;
        std::mem::forget(self);
        // SAFETY: fp is an open FILE* owned by us, closed exactly once (Drop is skipped).
        if unsafe { sys::fclose(fp.as_ptr()) } != 0 {
            return Err(DepsolveError::io(path, std::io::Error::last_os_error()));
        }
        Ok(())
    }
}

impl Drop for CFile {
    fn drop(&mut self) {
        // SAFETY: the FILE* is open and owned by this value.
        unsafe { sys::fclose(self.0.as_ptr()) };
    }
}

fn path_cstring(path: &Path) -> Result<CString, DepsolveError> {
    CString::new(path.as_os_str().as_encoded_bytes())
        .map_err(|_| DepsolveError::InvalidInput(format!("path with NUL: {}", path.display())))
}

impl Pool {
    pub(super) fn repo_ptr(&self, repo: RepoHandle) -> *mut sys::Repo {
        let p = self.p();
        assert!(repo.0 > 0 && repo.0 < p.nrepos, "stale repo handle");
        // SAFETY: index checked against nrepos; repos[i] is a valid Repo pointer.
        unsafe { *p.repos.add(repo.0 as usize) }
    }

    /// Add an empty repo.
    pub fn add_repo(&mut self, name: &str) -> RepoHandle {
        let c = CString::new(name).unwrap_or_else(|_| c"repo".into());
        // SAFETY: valid pool and name; returns a repo owned by the pool.
        let repo = unsafe { sys::repo_create(self.raw.as_ptr(), c.as_ptr()) };
        // SAFETY: repo_create returns a valid repo.
        RepoHandle(unsafe { (*repo).repoid })
    }

    fn errstr(&self) -> String {
        // SAFETY: pool_errstr returns a NUL-terminated string owned by the pool.
        unsafe { CStr::from_ptr(sys::pool_errstr(self.raw.as_ptr())) }
            .to_string_lossy()
            .into_owned()
    }

    /// Load an rpm-md XML file (primary, or filelists with `extend = true`); compression is
    /// detected from the file name (gz/xz/zst/bz2).
    pub fn add_rpmmd(
        &mut self,
        repo: RepoHandle,
        path: &Path,
        extend: bool,
    ) -> Result<(), DepsolveError> {
        let file = CFile::open_read(path)?;
        // Each file is internalized as it is read: extending solvables with filelists
        // joins on the primary's pkgid, which must already be internalized.
        let flags = if extend {
            sys::REPO_EXTEND_SOLVABLES as i32
        } else {
            0
        };
        // SAFETY: valid repo and open FILE*; language NULL means default.
        let rc = unsafe {
            sys::repo_add_rpmmd(
                self.repo_ptr(repo),
                file.0.as_ptr(),
                std::ptr::null(),
                flags,
            )
        };
        if rc != 0 {
            return Err(DepsolveError::Load(format!(
                "{}: {}",
                path.display(),
                self.errstr()
            )));
        }
        Ok(())
    }

    /// Load a `.solv` file written by [`Pool::write_solv`].
    pub fn add_solv(&mut self, repo: RepoHandle, path: &Path) -> Result<(), DepsolveError> {
        let file = CFile::open_read(path)?;
        // SAFETY: valid repo and open FILE*.
        let rc = unsafe { sys::repo_add_solv(self.repo_ptr(repo), file.0.as_ptr(), 0) };
        if rc != 0 {
            return Err(DepsolveError::Load(format!(
                "{}: {}",
                path.display(),
                self.errstr()
            )));
        }
        Ok(())
    }

    /// Finish loading a repo's XML data (`repo_internalize`).
    pub fn internalize(&mut self, repo: RepoHandle) {
        // SAFETY: valid repo.
        unsafe { sys::repo_internalize(self.repo_ptr(repo)) };
    }

    /// Write a repo as a `.solv` file.
    pub fn write_solv(&self, repo: RepoHandle, path: &Path) -> Result<(), DepsolveError> {
        let file = CFile::create(path)?;
        // SAFETY: valid repo and FILE* opened for writing.
        let rc = unsafe { sys::repo_write(self.repo_ptr(repo), file.0.as_ptr()) };
        if rc != 0 {
            return Err(DepsolveError::Load(format!(
                "writing {}: {}",
                path.display(),
                self.errstr()
            )));
        }
        file.close(path)
    }

    /// Write only the solvables of `repo` for which `keep` holds as a `.solv` file, in
    /// their order (the others are removed from the pool first, which is consumed).
    pub fn write_solv_subset(
        self,
        repo: RepoHandle,
        keep: impl Fn(Id) -> bool,
        path: &Path,
    ) -> Result<(), DepsolveError> {
        let range = self.repo_range(repo);
        let mut id = range.start;
        while id < range.end {
            if keep(id) {
                id += 1;
                continue;
            }
            let start = id;
            while id < range.end && !keep(id) {
                id += 1;
            }
            // SAFETY: valid repo; start..id lies within its range. The block's solvables
            // are cleared (ids not reused), and nothing borrows the solvable array.
            unsafe { sys::repo_free_solvable_block(self.repo_ptr(repo), start, id - start, 0) };
        }
        self.write_solv(repo, path)
    }

    /// Build the provides index (file provides first). Call once after all repos are loaded.
    pub fn create_whatprovides(&mut self) {
        // SAFETY: valid pool.
        unsafe {
            sys::pool_addfileprovides(self.raw.as_ptr());
            sys::pool_createwhatprovides(self.raw.as_ptr());
        }
    }

    /// Solvable ids `start..end` of a repo.
    pub fn repo_range(&self, repo: RepoHandle) -> std::ops::Range<Id> {
        // SAFETY: valid repo pointer (checked in repo_ptr).
        let r = unsafe { &*self.repo_ptr(repo) };
        r.start..r.end
    }

    /// Does solvable `id` exist and belong to `repo`?
    pub fn in_repo(&self, id: Id, repo: RepoHandle) -> bool {
        self.solvable(id)
            // SAFETY: s.repo is either NULL or a valid repo of this pool.
            .map(|s| !s.repo.is_null() && unsafe { (*s.repo).repoid } == repo.0)
            .unwrap_or(false)
    }
}
