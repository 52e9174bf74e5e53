//! Raw bindings to mlx-c, built on Linux against the MLX Python wheels.
//!
//! A drop-in for the crates.io `mlx-sys` 0.7.0 under `mlx-rs` 0.33.0 (wired in
//! with `[patch.crates-io]`); README.md says what differs and why.
#![allow(non_upper_case_globals)]
#![allow(non_camel_case_types)]
#![allow(non_snake_case)]
#![allow(clippy::all)]

include!(env!("MLX_SYS_BINDINGS"));

#[cfg(mlx_sys_half_shim)]
pub use half_shim::*;

/// mlx-c defines `float16_t`/`bfloat16_t` and their array accessors only when
/// the C compiler has native half types (aarch64). mlx-rs uses them everywhere,
/// so on other targets they are provided here: both types are 16-bit patterns,
/// and MLX's `item<T>`/`data<T>` only reinterpret the buffer, so the uint16
/// accessors return exactly the bits the half-precision ones would.
#[cfg(mlx_sys_half_shim)]
mod half_shim {
    use super::{mlx_array, mlx_array_data_uint16, mlx_array_item_uint16};
    use std::os::raw::c_int;

    /// An IEEE 754 binary16 value as its bit pattern (bindgen's layout for `__fp16`).
    #[repr(transparent)]
    #[derive(Debug, Default, Copy, Clone, PartialEq, Eq, Hash)]
    pub struct float16_t(pub u16);

    /// A bfloat16 value as its bit pattern (bindgen's layout for `__bf16`).
    pub type bfloat16_t = u16;

    /// # Safety
    /// `res` must be valid for a write; `arr` must be a live float16 array of size 1.
    pub unsafe extern "C" fn mlx_array_item_float16(res: *mut float16_t, arr: mlx_array) -> c_int {
        unsafe { mlx_array_item_uint16(res.cast(), arr) }
    }

    /// # Safety
    /// `res` must be valid for a write; `arr` must be a live bfloat16 array of size 1.
    pub unsafe extern "C" fn mlx_array_item_bfloat16(res: *mut bfloat16_t, arr: mlx_array) -> c_int {
        unsafe { mlx_array_item_uint16(res, arr) }
    }

    /// # Safety
    /// `arr` must be a live, evaluated float16 array.
    pub unsafe extern "C" fn mlx_array_data_float16(arr: mlx_array) -> *const float16_t {
        unsafe { mlx_array_data_uint16(arr).cast() }
    }

    /// # Safety
    /// `arr` must be a live, evaluated bfloat16 array.
    pub unsafe extern "C" fn mlx_array_data_bfloat16(arr: mlx_array) -> *const bfloat16_t {
        unsafe { mlx_array_data_uint16(arr) }
    }
}

/// mlx-rs seeds its default RNG with Darwin's `mach_approximate_time` (declared
/// by `mach-sys`), which glibc lacks; this definition satisfies the linker. Any
/// changing clock serves for a seed; nanoseconds since the epoch do.
#[cfg(not(target_vendor = "apple"))]
#[unsafe(no_mangle)]
pub extern "C" fn mach_approximate_time() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos() as u64)
        .unwrap_or(0)
}
