//! The macros candidates and evaluators call.

/// Exports a candidate's entry points and its ABI fingerprint. Put it in
/// the fixed part of the candidate (outside EVOLVE-BLOCK regions), so the
/// LLM cannot change the signatures.
///
/// ```ignore
/// openevolve_sdk::export_candidate! {
///     search: fn(usize, u64) -> (f64, f64),
///     name: fn() -> String,
/// }
/// ```
/// Each `name` must be a function in scope with exactly that type.
#[macro_export]
macro_rules! export_candidate {
    ($($name:ident : $ty:ty),+ $(,)?) => {
        #[unsafe(no_mangle)]
        pub static openevolve_abi_fingerprint: $crate::AbiFingerprint =
            $crate::AbiFingerprint::current(option_env!("OPENEVOLVE_DEPS_HASH"));
        $(
            const _: () = {
                #[unsafe(export_name = concat!("openevolve_entry_", stringify!($name)))]
                pub static ENTRY: $crate::CandidateEntry = $crate::CandidateEntry {
                    type_name: $crate::AbiStr::new(stringify!($ty)),
                    function: $name as $ty as *const (),
                };
                // The shim a candidate process calls with encoded arguments;
                // it refuses at run time a type that cannot cross.
                fn serve(input: &[u8]) -> ::std::result::Result<::std::vec::Vec<u8>, ::std::string::String> {
                    #[allow(unused_imports)]
                    use $crate::wire::{ServeRefused as _, ServeViaWire as _};
                    (&&$crate::wire::Probe::<$ty>::new()).serve_call($name as $ty, input)
                }
                #[unsafe(export_name = concat!("openevolve_serve_", stringify!($name)))]
                pub static SERVE: $crate::ServeEntry = $crate::ServeEntry { serve };
            };
        )+
    };
}

/// A candidate's entry point as a proxy the judge calls like the function:
/// arguments and result cross into a candidate process (see
/// [`crate::wire`] for the types that can). `Err(CandidateError)` when the
/// candidate lacks it or declares another type (whitespace ignored). Works
/// on a [`crate::Candidate`] (its shared process) and on a
/// [`crate::CandidateProcess`].
///
/// ```ignore
/// let search = openevolve_sdk::candidate_fn!(candidate, search: fn(usize, u64) -> (f64, f64))?;
/// let (x, y) = search(1000, 42); // crosses the process boundary
/// ```
/// If the candidate process fails during a call, the call unwinds and the
/// stage's verdict is that failure.
#[macro_export]
macro_rules! candidate_fn {
    ($candidate:expr, $name:ident : $ty:ty) => {
        $candidate.entry::<$ty>(stringify!($name), stringify!($ty))
    };
}

/// The entry point as a plain function pointer into a mapped library, for
/// types that cannot cross a process boundary. Use it in a routine (see
/// [`crate::evaluator!`]), which gets the library its candidate process
/// mapped: what the routine answers is then checked by the judge like any
/// candidate answer. Used in a judge on [`crate::Candidate::map_unsealed`]'s
/// library instead, the candidate's code runs in the judge: **not sealed**.
/// The pointer must not outlive `library`.
///
/// ```ignore
/// fn train_routine(library: Option<&Library>, input: &[u8]) -> Result<Vec<u8>, String> {
///     let hooks = match library {
///         Some(library) => openevolve_sdk::unsealed_fn!(*library, hooks: fn() -> Hooks).map_err(|e| e.to_string())?,
///         None => Hooks::standard, // a reference process
///     };
///     // ... train with hooks(), answer with what the judge will check
/// }
/// ```
#[macro_export]
macro_rules! unsealed_fn {
    ($library:expr, $name:ident : $ty:ty) => {{
        let library: &$crate::Library = &$library;
        // SAFETY: `$ty` is both the type asked for and the text compared.
        unsafe { library.entry::<$ty>(stringify!($name), stringify!($ty)) }
    }};
}

/// Turns `evaluate` (and optional cascade stages) into an evaluator: the
/// `main` of its executable (judge and candidate-process modes, see
/// `openevolve_sdk::worker`), and the C-ABI entry
/// `openevolve_evaluator_run` used by the in-process mode. Each function
/// takes `&Candidate` and returns an `EvaluationResult` or a
/// `Result<EvaluationResult, E: Display>`.
///
/// ```ignore
/// openevolve_sdk::evaluator!(evaluate);
/// openevolve_sdk::evaluator!(evaluate, stage1 = quick_check, stage2 = full_run);
/// // A cheap fingerprint of what the candidate does, `fn(&Candidate) -> Result<String, E: Display>`:
/// // a child whose fingerprint a stored program had is recorded as its duplicate, not evaluated.
/// openevolve_sdk::evaluator!(evaluate, behaviour = fingerprint);
/// // Evaluator code that runs inside candidate processes (see `CandidateProcess::call_routine`):
/// openevolve_sdk::evaluator!(evaluate, routines = &[("train", trial::train_routine)]);
/// ```
#[macro_export]
macro_rules! evaluator {
    ($evaluate:path $(, stage1 = $s1:path)? $(, stage2 = $s2:path)? $(, stage3 = $s3:path)? $(, behaviour = $b:path)? $(, routines = $routines:expr)? $(,)?) => {
        static __OPENEVOLVE_FINGERPRINT: $crate::AbiFingerprint =
            $crate::AbiFingerprint::current(option_env!("OPENEVOLVE_DEPS_HASH"));
        static __OPENEVOLVE_STAGES: $crate::worker::Stages = $crate::worker::Stages {
            evaluate: |c| $crate::IntoEvaluation::into_outcome($evaluate(c)),
            stage1: $crate::evaluator!(@stage $($s1)?),
            stage2: $crate::evaluator!(@stage $($s2)?),
            stage3: $crate::evaluator!(@stage $($s3)?),
            behaviour: $crate::evaluator!(@behaviour $($b)?),
            routines: $crate::evaluator!(@routines $($routines)?),
        };

        /// In-process entry of this evaluator (see `openevolve_sdk::worker`).
        ///
        /// # Safety
        /// C strings as `openevolve_sdk::worker::run_in_process` requires.
        #[unsafe(no_mangle)]
        pub unsafe extern "C" fn openevolve_evaluator_run(
            candidate_path: *const ::std::ffi::c_char,
            stage: u32,
            args_json: *const ::std::ffi::c_char,
            sink: $crate::worker::ResultSink,
            ctx: *mut ::std::ffi::c_void,
        ) -> i32 {
            unsafe {
                $crate::worker::run_in_process(
                    &__OPENEVOLVE_STAGES, &__OPENEVOLVE_FINGERPRINT, candidate_path, stage, args_json, sink, ctx,
                )
            }
        }

        // The worker executable's entry; unused when built as a cdylib.
        #[allow(dead_code)]
        fn main() {
            $crate::worker::worker_main(&__OPENEVOLVE_STAGES, &__OPENEVOLVE_FINGERPRINT)
        }
    };
    (@routines) => { &[] };
    (@routines $r:expr) => { $r };
    (@behaviour) => { None };
    (@behaviour $f:path) => { Some(|c| $crate::worker::behaviour_outcome($f(c))) };
    (@stage) => { None };
    (@stage $f:path) => { Some(|c| $crate::IntoEvaluation::into_outcome($f(c))) };
}
