//! # crm-tests
//!
//! The storage conformance suite: every rule of the product contract's domain section, written
//! once as `pub async fn` checks generic over [`Store`], so each backend runs the very same
//! checks, races included. A backend's test file calls [`conformance_tests!`] with a function
//! that builds a fresh, empty [`Backend`] for each check.
//!
//! This crate reads no environment variables itself; the PostgreSQL test binary documents the
//! ones it reads.

use crm_core::Store;

pub mod conformance;
pub mod fixture;
pub mod pg;

/// A fresh, empty backend for one check, and how to clean up after it.
pub trait Backend: Send + Sized + 'static {
    /// The store under test; clones share data.
    type S: Store + Clone;
    /// The store, shared with the check.
    fn store(&self) -> Self::S;
    /// Releases what the backend holds (for PostgreSQL: drops the check's database).
    fn finish(self) -> impl std::future::Future<Output = ()> + Send;
}

/// Re-exported so the macro works from any crate.
pub use crm_core;

/// Expands to one `#[tokio::test]` per conformance check, each on a fresh backend from
/// `$factory` (an `async fn() -> impl Backend`). The runtime is multi-threaded so the race
/// checks race for real.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:path) => {
        $crate::conformance_tests!(@each $factory;
            submit_stores_ticket_client_and_event,
            staff_intake_roles_device_and_events,
            public_view_hides_serial_condition_and_accessories,
            counter_search_and_filters,
            due_order_walks_every_ticket_once,
            edits_are_merge_patches_with_one_event,
            racing_edits_apply_each_once,
            customers_are_found_corrected_and_recorded,
            messages_keep_internal_notes_from_the_customer,
            awaiting_reply_follows_the_conversation,
            customer_messages_are_limited,
            attachments_keep_internal_files_from_the_customer,
            attachment_limits_hold_under_racing_uploads,
            removed_and_orphaned_files_leave_no_bytes,
            submit_rejects_invalid_input_and_stores_nothing,
            clients_are_found_by_email_and_never_overwritten,
            duplicates_are_rejected_until_the_ticket_is_done,
            racing_identical_submissions_store_exactly_one,
            state_machine_steps_and_timestamps,
            api_keys_act_as_their_account_until_revoked,
            racing_key_creations_stop_at_the_limit,
            two_factor_sign_in_takes_each_code_once,
            racing_sign_ins_accept_a_code_once,
            export_walks_every_ticket_in_batches,
            stages_are_managed_by_admins,
            a_stage_in_use_is_not_removed,
            stages_follow_the_status,
            racing_stage_and_status_changes_stay_consistent,
            stage_statistics_count_and_time_the_stays,
            entering_a_notifying_stage_emails_the_customer,
            quotes_are_drafted_sent_superseded_and_decided_once,
            quotes_expire_by_time_and_are_filtered,
            racing_decisions_record_one,
            same_status_is_a_safe_no_op,
            racing_transitions_apply_once,
            transition_lost_to_a_release_is_not_applied,
            assignment_rules,
            worker_visibility_is_a_filter,
            opening_marks_viewed_once,
            lists_are_newest_first_and_paged,
            list_filters_combine,
            title_search_is_case_insensitive_and_literal,
            list_rejects_bad_paging_and_search,
            tracking_code_shows_progress_only,
            history_records_every_change_in_order,
            stats_per_worker_and_overall,
            user_accounts,
            deleting_a_worker_releases_its_open_tickets,
            last_admin_cannot_be_deleted_even_when_racing,
            racing_usernames_create_one_account,
            deleting_a_worker_while_assigning_leaves_no_orphans,
            default_accounts_are_seeded_once,
            authentication,
            large_lists_and_search_agree_with_a_naive_filter,
            cursor_paging_walks_every_ticket_once,
            tabs_queues_and_each_users_new_cue,
            control_characters_are_refused_and_nothing_stored,
            search_folds_case_character_by_character,
            worker_ids_must_be_positive,
            sign_in_is_throttled_per_username,
            racing_guesses_get_exactly_the_free_attempts,
            sessions_need_the_accounts_current_key,
            changing_ones_password_ends_older_sessions,
            an_admin_reset_ends_sessions_and_forces_a_change,
            signing_out_ends_only_that_token,
            a_password_change_racing_sign_ins_leaves_no_older_token_working,
            account_history_and_default_passwords,
            events_replay_in_order_from_any_position,
            events_carry_the_state_after_them,
            single_use_values_are_used_once,
            listeners_hear_events_and_account_changes,
            least_open_follows_the_documented_order,
            round_robin_cycles_skipping_unavailable_and_full,
            waiting_tickets_go_to_the_first_worker_that_becomes_eligible,
            deleting_a_worker_hands_its_open_tickets_to_others,
            manual_assignment_wins,
            racing_submissions_respect_the_limit_and_spread_evenly,
            notifications_are_recorded_exactly_with_their_change,
            claims_are_leased_and_outcomes_fenced,
            a_tickets_mail_goes_out_in_order,
            racing_workers_never_share_a_delivery,
            gone_endpoints_are_disabled_and_retries_revive_them,
            notifications_tell_the_ticket_as_the_event_left_it,
            endpoint_health_follows_recent_attempts,
        );
    };
    (@each $factory:path; $($name:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $name() {
                let backend = $factory().await;
                let store = $crate::Backend::store(&backend);
                $crate::conformance::$name(store).await;
                $crate::Backend::finish(backend).await;
            }
        )*
    };
}

#[cfg(test)]
mod tests {
    /// Every `pub async fn` check in `src/conformance/` is listed in [`conformance_tests!`],
    /// so no backend can silently skip a check that was written.
    #[test]
    fn every_conformance_check_is_registered() {
        let lib = include_str!("lib.rs");
        let start = lib.find("(@each $factory;").expect("the macro's list");
        let end = start + lib[start..].find(");").expect("the end of the list");
        let registered: Vec<&str> = lib[start..end]
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .collect();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/conformance");
        let mut checks = 0;
        for entry in std::fs::read_dir(&dir).expect("read src/conformance") {
            let path = entry.expect("a directory entry").path();
            let text = std::fs::read_to_string(&path).expect("read a check file");
            for line in text.lines() {
                if let Some(rest) = line.strip_prefix("pub async fn ") {
                    let name = rest.split(['<', '(']).next().unwrap_or_default();
                    checks += 1;
                    assert!(
                        registered.contains(&name),
                        "{name} in {} is not listed in conformance_tests!",
                        path.display()
                    );
                }
            }
        }
        assert!(checks >= 27, "found only {checks} checks");
    }
}
