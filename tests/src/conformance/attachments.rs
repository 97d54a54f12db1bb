//! Files: who uploads and downloads what, internal files kept from every customer channel,
//! the limits settled by the store under racing uploads, refusals that store nothing, and
//! removal and the orphan sweep leaving no bytes behind.

use super::*;
use base64::Engine;
use crm_core::{
    Attachment, Audience, Crm, FileKind, FileSettings, ListMessages, ManualClock, StoredFile,
    Uploader, attachment::CUSTOMER_ATTACHMENTS_PER_DAY,
};
use futures::StreamExt;
use object_store::{ObjectStore, memory::InMemory};
use std::sync::Arc;

/// A 1x1 PNG.
pub const PNG: &str =
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=";

fn png() -> Vec<u8> {
    base64::engine::general_purpose::STANDARD
        .decode(PNG)
        .unwrap()
}

fn all() -> ListMessages {
    ListMessages {
        size: Some(100),
        ..Default::default()
    }
}

/// The bytes as a transport hands them over: in small chunks.
fn chunks(bytes: &[u8]) -> impl futures::Stream<Item = Result<bytes::Bytes, String>> + Unpin {
    let parts: Vec<Result<bytes::Bytes, String>> = bytes
        .chunks(7)
        .map(|c| Ok(bytes::Bytes::copy_from_slice(c)))
        .collect();
    futures::stream::iter(parts)
}

/// Stores the object of an upload without its row.
async fn store_only<S: Store>(
    crm: &Crm<S>,
    who: Uploader<'_>,
    bytes: &[u8],
) -> Result<(crm_core::UploadSlot, StoredFile), CoreError> {
    let slot = crm.begin_upload(who).await?;
    let file = crm
        .store_upload(&slot, Some("photo.png"), chunks(bytes))
        .await?;
    Ok((slot, file))
}

/// A whole upload, as the HTTP operation makes it.
async fn upload<S: Store>(
    crm: &Crm<S>,
    who: Uploader<'_>,
    bytes: &[u8],
    visibility: &str,
) -> Result<Attachment, CoreError> {
    let (slot, file) = store_only(crm, who, bytes).await?;
    crm.finish_upload(slot, file, Some(visibility)).await
}

async fn objects(store: &InMemory) -> Vec<String> {
    let mut names: Vec<String> = store
        .list(None)
        .map(|m| m.unwrap().location.to_string())
        .collect()
        .await;
    names.sort();
    names
}

async fn read_all(d: crm_core::Download) -> Vec<u8> {
    let mut out = Vec::new();
    let mut body = d.body;
    while let Some(c) = body.next().await {
        out.extend_from_slice(&c.unwrap());
    }
    out
}

/// Staff add internal and customer files to tickets they may see, the customer adds
/// customer-visible ones under the code; the customer lists, downloads and counts only
/// customer-visible files; each file is one `attachment_added` event saying its audience;
/// kinds come from the bytes; refusals leave no row and no object.
pub async fn attachments_keep_internal_files_from_the_customer<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let objects_store = Arc::new(InMemory::new());
    let crm = f
        .crm
        .clone()
        .with_files(objects_store.clone(), FileSettings::default());
    let t = f.assigned("Cracked back glass", &f.worker).await;
    let code = t.tracking_code.as_str().to_owned();
    f.tick();
    let note = upload(
        &crm,
        Uploader::Staff(&f.worker, t.id),
        b"Serial under the battery: SN-INTERNAL-42\n",
        "internal",
    )
    .await
    .unwrap();
    assert_eq!(
        (note.kind, note.visibility, note.size),
        (FileKind::Text, Audience::Internal, 41)
    );
    assert_eq!(note.uploaded_by.name, "worker");
    assert!(!note.has_thumbnail());
    f.tick();
    let photo = upload(&crm, Uploader::Customer(&code), &png(), "internal")
        .await
        .unwrap();
    // The customer's files are the customer's to see, whatever the form said.
    assert_eq!(
        (photo.kind, photo.visibility),
        (FileKind::Png, Audience::Customer)
    );
    assert_eq!(photo.uploaded_by.user_id, None);
    assert!(photo.has_thumbnail());

    // Refusals: another worker's ticket, a bad audience, markup, an empty file.
    let other = f.other;
    assert!(matches!(
        upload(&crm, Uploader::Staff(&other, t.id), b"x", "internal").await,
        Err(CoreError::NotFound(_))
    ));
    assert!(matches!(
        upload(&crm, Uploader::Staff(&f.admin, t.id), b"text", "everyone").await,
        Err(CoreError::Validation(_))
    ));
    for bad in [
        &b"<!DOCTYPE html><script>alert(1)</script>"[..],
        b"\xFF\xD8\xFF<html>",
        b"MZ\x90\0",
    ] {
        assert!(matches!(
            upload(&crm, Uploader::Staff(&f.admin, t.id), bad, "internal").await,
            Err(CoreError::UnsupportedFile)
        ));
    }
    assert!(matches!(
        upload(
            &crm,
            Uploader::Customer("NOPE-NOPE-NOPE-NOPE"),
            &png(),
            "customer"
        )
        .await,
        Err(CoreError::NotFound(_))
    ));
    // Only the two stored files (and the photo's thumbnail) are in the object store.
    assert_eq!(objects(&objects_store).await.len(), 3);

    let staff = crm.list_attachments(&f.worker, t.id, all()).await.unwrap();
    assert_eq!(
        staff.items.iter().map(|a| a.id).collect::<Vec<_>>(),
        vec![note.id, photo.id]
    );
    let public = crm.public_attachments(&code, all()).await.unwrap();
    assert_eq!(public.total, 1);
    assert_eq!(public.items[0].id, photo.id);
    assert!(matches!(
        crm.public_download(&code, note.id, false).await,
        Err(CoreError::NotFound(_))
    ));
    assert!(matches!(
        crm.list_attachments(&other, t.id, all()).await,
        Err(CoreError::NotFound(_))
    ));
    let d = crm.public_download(&code, photo.id, false).await.unwrap();
    assert_eq!(read_all(d).await, png());
    let d = crm.download(&f.admin, t.id, note.id, false).await.unwrap();
    assert_eq!(
        read_all(d).await,
        b"Serial under the battery: SN-INTERNAL-42\n"
    );
    let thumb = crm.public_download(&code, photo.id, true).await.unwrap();
    assert!(read_all(thumb).await.starts_with(&[0xFF, 0xD8, 0xFF]));
    assert!(matches!(
        crm.download(&f.admin, t.id, note.id, true).await,
        Err(CoreError::NotFound(_))
    ));

    let events: Vec<_> = f
        .crm
        .history(&f.admin, t.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::AttachmentAdded)
        .map(|e| (e.item_id, e.visibility, e.actor_id))
        .collect();
    assert_eq!(
        events,
        vec![
            (Some(note.id), Some(Audience::Internal), Some(f.worker.id)),
            (Some(photo.id), Some(Audience::Customer), None),
        ]
    );
    assert_eq!(f.crm.track(&code).await.unwrap().files, 1);
}

/// The per-ticket limit and the customer's daily limit hold when uploads race: the store
/// decides under the ticket's lock, and the losers' objects are removed. A file over the
/// size limit is refused while it streams and leaves nothing.
pub async fn attachment_limits_hold_under_racing_uploads<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let objects_store = Arc::new(InMemory::new());
    let crm = f.crm.clone().with_files(
        objects_store.clone(),
        FileSettings {
            max_bytes: 4096,
            max_per_ticket: 3,
            ..FileSettings::default()
        },
    );
    let t = f.assigned("Racing photos", &f.worker).await;
    // Every upload stores its object first, then all race for their rows.
    let mut staged = Vec::new();
    for i in 0..6 {
        let text = format!("note {i}\n");
        staged.push(
            store_only(&crm, Uploader::Staff(&f.admin, t.id), text.as_bytes())
                .await
                .unwrap(),
        );
    }
    let results = futures::future::join_all(
        staged
            .into_iter()
            .map(|(slot, file)| crm.finish_upload(slot, file, Some("internal"))),
    )
    .await;
    assert_eq!(
        results.iter().filter(|r| r.is_ok()).count(),
        3,
        "{results:?}"
    );
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, CoreError::TooManyAttachments { max: 3 }))
    );
    assert_eq!(
        objects(&objects_store).await.len(),
        3,
        "the losers' objects are gone"
    );
    // Full: refused before a byte is read.
    assert!(matches!(
        crm.begin_upload(Uploader::Staff(&f.admin, t.id)).await,
        Err(CoreError::TooManyAttachments { max: 3 })
    ));

    // The customer: at most five a day on one ticket.
    let crm = f.crm.clone().with_files(
        objects_store.clone(),
        FileSettings {
            max_bytes: 4096,
            ..FileSettings::default()
        },
    );
    let u = f.assigned("Customer photos", &f.worker).await;
    let code = u.tracking_code.as_str().to_owned();
    let n = CUSTOMER_ATTACHMENTS_PER_DAY as usize;
    let mut staged = Vec::new();
    for _ in 0..n + 3 {
        staged.push(
            store_only(&crm, Uploader::Customer(&code), &png())
                .await
                .unwrap(),
        );
    }
    let results = futures::future::join_all(
        staged
            .into_iter()
            .map(|(slot, file)| crm.finish_upload(slot, file, None)),
    )
    .await;
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), n);
    assert!(
        results
            .iter()
            .filter_map(|r| r.as_ref().err())
            .all(|e| matches!(e, CoreError::TooManyUploads))
    );
    // Staff are not limited by the customer's allowance.
    upload(
        &crm,
        Uploader::Staff(&f.worker, u.id),
        b"after the customer\n",
        "customer",
    )
    .await
    .unwrap();
    let before = objects(&objects_store).await;
    assert!(matches!(
        upload(
            &crm,
            Uploader::Staff(&f.worker, u.id),
            &vec![b'a'; 5000],
            "internal"
        )
        .await,
        Err(CoreError::FileTooLarge { max: 4096 })
    ));
    assert_eq!(
        objects(&objects_store).await,
        before,
        "an oversize upload leaves nothing"
    );
    assert_eq!(
        crm.list_attachments(&f.admin, u.id, all())
            .await
            .unwrap()
            .total,
        n as u64 + 1
    );
}

/// Admins remove files (workers may not): the row goes with an `attachment_removed` event,
/// then the bytes. Objects no row names are removed by the sweep once an hour old, and only
/// those.
pub async fn removed_and_orphaned_files_leave_no_bytes<S: Store + Clone>(store: S) {
    let f = Fixture::new(store).await;
    let objects_store = Arc::new(InMemory::new());
    let crm = f
        .crm
        .clone()
        .with_files(objects_store.clone(), FileSettings::default());
    let t = f.assigned("Evidence", &f.worker).await;
    let keep = upload(&crm, Uploader::Staff(&f.worker, t.id), &png(), "customer")
        .await
        .unwrap();
    let gone = upload(
        &crm,
        Uploader::Staff(&f.worker, t.id),
        b"draft\n",
        "internal",
    )
    .await
    .unwrap();
    assert!(matches!(
        crm.remove_attachment(&f.worker, t.id, gone.id).await,
        Err(CoreError::Forbidden(_))
    ));
    crm.remove_attachment(&f.admin, t.id, gone.id)
        .await
        .unwrap();
    assert!(matches!(
        crm.remove_attachment(&f.admin, t.id, gone.id).await,
        Err(CoreError::NotFound(_))
    ));
    assert!(matches!(
        crm.download(&f.admin, t.id, gone.id, false).await,
        Err(CoreError::NotFound(_))
    ));
    let removed: Vec<_> = f
        .crm
        .history(&f.admin, t.id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.kind == EventKind::AttachmentRemoved)
        .map(|e| (e.item_id, e.visibility, e.actor_id))
        .collect();
    assert_eq!(
        removed,
        vec![(Some(gone.id), Some(Audience::Internal), Some(f.admin.id))]
    );
    assert_eq!(
        objects(&objects_store).await.len(),
        2,
        "the photo and its thumbnail"
    );

    // A crash between object and row leaves an orphan: the sweep takes it after an hour.
    let (_slot, orphan) = store_only(&crm, Uploader::Staff(&f.admin, t.id), b"orphan\n")
        .await
        .unwrap();
    drop(orphan);
    assert_eq!(objects(&objects_store).await.len(), 3);
    assert_eq!(crm.sweep_orphans().await.unwrap(), 0, "not an hour old yet");
    let later = crm
        .clone()
        .with_clock(ManualClock::new(chrono::Utc::now() + TimeDelta::hours(2)));
    assert_eq!(later.sweep_orphans().await.unwrap(), 1);
    assert_eq!(objects(&objects_store).await.len(), 2);
    let d = crm.download(&f.admin, t.id, keep.id, false).await.unwrap();
    assert_eq!(read_all(d).await, png());
}
