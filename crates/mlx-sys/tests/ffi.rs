//! The port's own checks, straight through the C API: the loaded MLX is the
//! pinned one, a matmul computes, and the half-precision shims read real values.

use mlx_sys::*;
use std::ffi::CStr;

fn version() -> String {
    unsafe {
        let mut s = mlx_string_new();
        assert_eq!(mlx_version(&mut s), 0);
        let v = CStr::from_ptr(mlx_string_data(s)).to_string_lossy().into_owned();
        mlx_string_free(s);
        v
    }
}

#[test]
fn loaded_mlx_is_the_pinned_version() {
    assert_eq!(version(), "0.32.2");
}

fn array_f32(data: &[f32], shape: &[i32]) -> mlx_array {
    unsafe {
        mlx_array_new_data(data.as_ptr().cast(), shape.as_ptr(), shape.len() as i32, mlx_dtype__MLX_FLOAT32)
    }
}

#[test]
fn matmul_through_the_c_api() {
    unsafe {
        let a = array_f32(&[1., 2., 3., 4., 5., 6.], &[2, 3]);
        let b = array_f32(&[7., 8., 9., 10., 11., 12.], &[3, 2]);
        let stream = mlx_default_cpu_stream_new();
        let mut c = mlx_array_new();
        assert_eq!(mlx_matmul(&mut c, a, b, stream), 0);
        assert_eq!(mlx_array_eval(c), 0);
        assert_eq!(mlx_array_size(c), 4);
        let got = std::slice::from_raw_parts(mlx_array_data_float32(c), 4);
        assert_eq!(got, &[58., 64., 139., 154.]);
        for arr in [a, b, c] {
            mlx_array_free(arr);
        }
        mlx_stream_free(stream);
    }
}

#[test]
fn half_precision_accessors_return_the_values() {
    unsafe {
        let x = array_f32(&[1.5, -2.25], &[2]);
        let stream = mlx_default_cpu_stream_new();
        let (mut h, mut b) = (mlx_array_new(), mlx_array_new());
        assert_eq!(mlx_astype(&mut h, x, mlx_dtype__MLX_FLOAT16, stream), 0);
        assert_eq!(mlx_astype(&mut b, x, mlx_dtype__MLX_BFLOAT16, stream), 0);
        assert_eq!(mlx_array_eval(h), 0);
        assert_eq!(mlx_array_eval(b), 0);
        // binary16 1.5 = 0x3E00, -2.25 = 0xC080; bfloat16 1.5 = 0x3FC0, -2.25 = 0xC010
        let hd = std::slice::from_raw_parts(mlx_array_data_float16(h).cast::<u16>(), 2);
        let bd = std::slice::from_raw_parts(mlx_array_data_bfloat16(b).cast::<u16>(), 2);
        assert_eq!(hd, &[0x3E00, 0xC080]);
        assert_eq!(bd, &[0x3FC0, 0xC010]);

        let (mut h0, mut b0) = (mlx_array_new(), mlx_array_new());
        // item() wants a one-element array: take element 0 of each.
        let idx = mlx_array_new_int(0);
        assert_eq!(mlx_take_axis(&mut h0, h, idx, 0, stream), 0);
        assert_eq!(mlx_take_axis(&mut b0, b, idx, 0, stream), 0);
        let mut hv = std::mem::zeroed::<float16_t>();
        let mut bv = std::mem::zeroed::<bfloat16_t>();
        assert_eq!(mlx_array_item_float16(&mut hv, h0), 0);
        assert_eq!(mlx_array_item_bfloat16(&mut bv, b0), 0);
        // float16_t wraps the bits (as mlx-rs reads them, `.0`); bfloat16_t is them.
        assert_eq!(hv.0, 0x3E00);
        assert_eq!(bv, 0x3FC0);
        for arr in [x, h, b, h0, b0, idx] {
            mlx_array_free(arr);
        }
        mlx_stream_free(stream);
    }
}

#[test]
fn seed_clock_moves() {
    let a = mach_approximate_time();
    std::thread::sleep(std::time::Duration::from_millis(2));
    assert!(mach_approximate_time() > a);
}
