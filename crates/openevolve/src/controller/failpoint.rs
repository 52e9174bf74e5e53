//! A crash on purpose, for the tests that show a run survives one at the
//! worst moment. Debug builds only: `OPENEVOLVE_TEST_ABORT=child-stored:N`
//! aborts the process once iteration N's child is written, before its
//! iteration row is.

/// Aborts when `OPENEVOLVE_TEST_ABORT` names this `point` and `iteration`.
pub(super) fn hit(point: &str, iteration: u64) {
    if cfg!(debug_assertions)
        && std::env::var("OPENEVOLVE_TEST_ABORT").is_ok_and(|v| v == format!("{point}:{iteration}"))
    {
        std::process::abort();
    }
}
