//! Where attachment bytes are kept: `ATTACHMENT_STORE` turned into an `object_store`
//! implementation once at start, and the periodic sweep of objects no row names.

use crate::config::ConfigError;
use crm_core::{Crm, FileSettings, Store};
use object_store::{
    ObjectStore, aws::AmazonS3Builder, local::LocalFileSystem, memory::InMemory,
    prefix::PrefixStore,
};
use std::{path::PathBuf, sync::Arc, time::Duration};

/// The smallest part S3 accepts in a multipart upload (but the last).
pub const S3_MIN_PART: usize = 5 << 20;

/// How often each replica sweeps for orphaned objects.
pub const SWEEP_EVERY: Duration = Duration::from_secs(600);

/// Where the bytes go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileStore {
    /// `memory://`: in this process (the memory store's default).
    Memory,
    /// `file:///path`: a directory on this machine.
    Directory(PathBuf),
    /// `s3://bucket/prefix`: S3 or an S3-compatible service, configured by the standard
    /// `AWS_*` variables (`AWS_ENDPOINT_URL`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
    /// `AWS_REGION`, `AWS_ALLOW_HTTP`).
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix inside it (may be empty).
        prefix: String,
    },
}

/// `ATTACHMENT_STORE`, `ATTACHMENT_MAX_BYTES`, `ATTACHMENT_MAX_PER_TICKET`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileConfig {
    /// Where.
    pub store: FileStore,
    /// The largest file.
    pub max_bytes: u64,
    /// The most files per ticket.
    pub max_per_ticket: u32,
}

impl FileStore {
    /// Parses `ATTACHMENT_STORE`; unset means memory with the memory store and
    /// `./data/attachments` with PostgreSQL.
    pub fn parse(value: Option<&str>, memory_db: bool) -> Result<Self, ConfigError> {
        let Some(v) = value.map(str::trim) else {
            return Ok(if memory_db {
                Self::Memory
            } else {
                Self::Directory(PathBuf::from("./data/attachments"))
            });
        };
        if v == "memory://" {
            return Ok(Self::Memory);
        }
        if let Some(path) = v.strip_prefix("file://") {
            if path.is_empty() {
                return Err(ConfigError(
                    "ATTACHMENT_STORE=file:// needs a directory, e.g. file:///var/lib/repair-crm/attachments".into(),
                ));
            }
            return Ok(Self::Directory(PathBuf::from(path)));
        }
        if let Some(rest) = v.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            if bucket.is_empty() {
                return Err(ConfigError(
                    "ATTACHMENT_STORE=s3:// needs a bucket, e.g. s3://my-bucket/attachments".into(),
                ));
            }
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.trim_matches('/').to_owned(),
            });
        }
        Err(ConfigError(format!(
            "ATTACHMENT_STORE must be memory://, file:///a/directory or s3://bucket/prefix, not {v:?}"
        )))
    }
}

impl FileConfig {
    /// Opens the object store (creating a directory that does not exist yet) with the part
    /// size it needs.
    pub fn open(&self) -> Result<(Arc<dyn ObjectStore>, FileSettings), ConfigError> {
        let defaults = FileSettings::default();
        let (objects, part_bytes): (Arc<dyn ObjectStore>, usize) = match &self.store {
            FileStore::Memory => (Arc::new(InMemory::new()), defaults.part_bytes),
            FileStore::Directory(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| {
                    ConfigError(format!(
                        "ATTACHMENT_STORE: cannot create {}: {e}",
                        dir.display()
                    ))
                })?;
                let fs = LocalFileSystem::new_with_prefix(dir).map_err(|e| {
                    ConfigError(format!(
                        "ATTACHMENT_STORE: cannot use {}: {e}",
                        dir.display()
                    ))
                })?;
                (Arc::new(fs), defaults.part_bytes)
            }
            FileStore::S3 { bucket, prefix } => {
                let s3 = AmazonS3Builder::from_env()
                    .with_bucket_name(bucket)
                    .build()
                    .map_err(|e| ConfigError(format!("ATTACHMENT_STORE: S3: {e}")))?;
                let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::new(s3)
                } else {
                    Arc::new(PrefixStore::new(s3, prefix.as_str()))
                };
                (store, S3_MIN_PART)
            }
        };
        Ok((
            objects,
            FileSettings {
                max_bytes: self.max_bytes,
                max_per_ticket: self.max_per_ticket,
                part_bytes,
            },
        ))
    }
}

/// Sweeps for orphaned objects every [`SWEEP_EVERY`] until the task is dropped.
pub async fn sweep_loop<S: Store>(crm: Crm<S>) {
    let mut every = tokio::time::interval(SWEEP_EVERY);
    loop {
        every.tick().await;
        match crm.sweep_orphans().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(removed = n, "attachments: removed orphaned objects"),
            Err(e) => tracing::warn!(error = %e, "attachments: the orphan sweep failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_urls() {
        assert_eq!(FileStore::parse(None, true).unwrap(), FileStore::Memory);
        assert_eq!(
            FileStore::parse(None, false).unwrap(),
            FileStore::Directory("./data/attachments".into())
        );
        assert_eq!(
            FileStore::parse(Some("file:///srv/files"), false).unwrap(),
            FileStore::Directory("/srv/files".into())
        );
        assert_eq!(
            FileStore::parse(Some("s3://shop/attachments/"), false).unwrap(),
            FileStore::S3 {
                bucket: "shop".into(),
                prefix: "attachments".into()
            }
        );
        for bad in ["s3://", "file://", "ftp://x", "/var/files"] {
            let e = FileStore::parse(Some(bad), false).unwrap_err();
            assert!(e.0.starts_with("ATTACHMENT_STORE"), "{e}");
        }
    }
}
