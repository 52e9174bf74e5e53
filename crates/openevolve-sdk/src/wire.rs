//! The compact encoding of a candidate call's arguments and result, as they
//! cross from the judge to the candidate process and back.
//!
//! Little-endian fixed-width numbers (`usize`/`isize` as 64 bits), `bool`
//! as one byte, strings and sequences as a `u32` length then the items,
//! `Option`/`Result` as a tag byte then the value. Decoding never trusts a
//! length: the other side may be hostile, so a length longer than the
//! bytes left is an error, not an allocation.
//!
//! An entry point can be called across the boundary when its type is a
//! function pointer over [`Wire`] types: see [`WireFn`].

use std::fmt;

/// Bytes the other side sent that do not decode as the expected type.
#[derive(Debug, Clone, PartialEq)]
pub struct WireError(pub String);

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "malformed message: {}", self.0)
    }
}

impl std::error::Error for WireError {}

/// A value that can cross the process boundary.
pub trait Wire: Sized {
    fn encode(&self, out: &mut Vec<u8>);
    fn decode(input: &mut &[u8]) -> Result<Self, WireError>;
}

/// Takes `n` bytes off the front of `input`.
pub(crate) fn take<'a>(input: &mut &'a [u8], n: usize) -> Result<&'a [u8], WireError> {
    if input.len() < n {
        return Err(WireError(format!("{n} bytes expected, {} left", input.len())));
    }
    let (head, rest) = input.split_at(n);
    *input = rest;
    Ok(head)
}

macro_rules! wire_number {
    ($($t:ty),*) => {$(
        impl Wire for $t {
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&self.to_le_bytes());
            }
            fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
                let bytes = take(input, std::mem::size_of::<$t>())?;
                Ok(<$t>::from_le_bytes(bytes.try_into().expect("length checked")))
            }
        }
    )*};
}
wire_number!(u8, u16, u32, u64, i8, i16, i32, i64, f32, f64);

impl Wire for usize {
    fn encode(&self, out: &mut Vec<u8>) {
        (*self as u64).encode(out)
    }
    fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
        usize::try_from(u64::decode(input)?).map_err(|_| WireError("usize out of range".into()))
    }
}

impl Wire for isize {
    fn encode(&self, out: &mut Vec<u8>) {
        (*self as i64).encode(out)
    }
    fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
        isize::try_from(i64::decode(input)?).map_err(|_| WireError("isize out of range".into()))
    }
}

impl Wire for bool {
    fn encode(&self, out: &mut Vec<u8>) {
        out.push(*self as u8)
    }
    fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
        match u8::decode(input)? {
            0 => Ok(false),
            1 => Ok(true),
            b => Err(WireError(format!("bool byte {b}"))),
        }
    }
}

impl Wire for char {
    fn encode(&self, out: &mut Vec<u8>) {
        (*self as u32).encode(out)
    }
    fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
        let c = u32::decode(input)?;
        char::from_u32(c).ok_or_else(|| WireError(format!("char {c:#x}")))
    }
}

impl Wire for () {
    fn encode(&self, _: &mut Vec<u8>) {}
    fn decode(_: &mut &[u8]) -> Result<Self, WireError> {
        Ok(())
    }
}

fn encode_len(len: usize, out: &mut Vec<u8>) {
    u32::try_from(len).expect("sequences on the wire hold fewer than 2^32 items").encode(out)
}

impl Wire for String {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_len(self.len(), out);
        out.extend_from_slice(self.as_bytes());
    }
    fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
        let len = u32::decode(input)? as usize;
        let bytes = take(input, len)?;
        String::from_utf8(bytes.to_vec()).map_err(|_| WireError("string not UTF-8".into()))
    }
}

impl<T: Wire> Wire for Vec<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_len(self.len(), out);
        self.iter().for_each(|item| item.encode(out));
    }
    fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
        let len = u32::decode(input)? as usize;
        // Every item takes at least a byte unless it is zero-sized; bound
        // the reservation by what is left either way.
        let mut items = Vec::with_capacity(len.min(input.len()));
        for _ in 0..len {
            items.push(T::decode(input)?);
        }
        Ok(items)
    }
}

impl<T: Wire, const N: usize> Wire for [T; N] {
    fn encode(&self, out: &mut Vec<u8>) {
        self.iter().for_each(|item| item.encode(out));
    }
    fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
        let items: Vec<T> = (0..N).map(|_| T::decode(input)).collect::<Result<_, _>>()?;
        Ok(items.try_into().unwrap_or_else(|_| unreachable!("N items decoded")))
    }
}

impl<T: Wire> Wire for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            None => out.push(0),
            Some(v) => {
                out.push(1);
                v.encode(out)
            }
        }
    }
    fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
        match u8::decode(input)? {
            0 => Ok(None),
            1 => Ok(Some(T::decode(input)?)),
            b => Err(WireError(format!("Option tag {b}"))),
        }
    }
}

impl<T: Wire, E: Wire> Wire for Result<T, E> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Ok(v) => {
                out.push(0);
                v.encode(out)
            }
            Err(e) => {
                out.push(1);
                e.encode(out)
            }
        }
    }
    fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
        match u8::decode(input)? {
            0 => Ok(Ok(T::decode(input)?)),
            1 => Ok(Err(E::decode(input)?)),
            b => Err(WireError(format!("Result tag {b}"))),
        }
    }
}

macro_rules! wire_tuple {
    ($($name:ident),+) => {
        impl<$($name: Wire),+> Wire for ($($name,)+) {
            #[allow(non_snake_case)]
            fn encode(&self, out: &mut Vec<u8>) {
                let ($($name,)+) = self;
                $($name.encode(out);)+
            }
            fn decode(input: &mut &[u8]) -> Result<Self, WireError> {
                Ok(($($name::decode(input)?,)+))
            }
        }
    };
}
wire_tuple!(A);
wire_tuple!(A, B);
wire_tuple!(A, B, C);
wire_tuple!(A, B, C, D);
wire_tuple!(A, B, C, D, E);
wire_tuple!(A, B, C, D, E, F);
wire_tuple!(A, B, C, D, E, F, G);
wire_tuple!(A, B, C, D, E, F, G, H);

/// Decodes a whole message: trailing bytes are an error too.
pub fn decode_all<T: Wire>(mut input: &[u8]) -> Result<T, WireError> {
    let value = T::decode(&mut input)?;
    if !input.is_empty() {
        return Err(WireError(format!("{} bytes left over", input.len())));
    }
    Ok(value)
}

/// Sends encoded arguments to wherever the candidate runs and returns the
/// encoded result; on failure it does not return (see
/// [`crate::CandidateFailure`]).
pub type Transport = std::sync::Arc<dyn Fn(&[u8]) -> Vec<u8> + Send + Sync>;

/// A function-pointer type whose arguments and result are [`Wire`]: the
/// judge calls it through a proxy, the candidate process through a shim.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be called across the process boundary",
    note = "arguments and results must be numbers, bool, char, String, Vec, arrays, tuples, Option or Result of those (no references); for anything else, call the entry in an evaluator routine inside the candidate process (`evaluator!(.., routines = ..)` and `unsealed_fn!`)"
)]
pub trait WireFn: Copy {
    /// What the judge calls: encodes the arguments, crosses, decodes.
    type Proxy;
    fn proxy(transport: Transport) -> Self::Proxy;
    /// Candidate side: decodes the arguments, calls `f`, encodes the result.
    fn serve(f: Self, input: &[u8]) -> Result<Vec<u8>, WireError>;
}

macro_rules! wire_fn {
    ($($arg:ident),*) => {
        impl<R: Wire + 'static $(, $arg: Wire + 'static)*> WireFn for fn($($arg),*) -> R {
            type Proxy = Box<dyn Fn($($arg),*) -> R>;

            #[allow(non_snake_case)]
            fn proxy(transport: Transport) -> Self::Proxy {
                Box::new(move |$($arg: $arg),*| {
                    let mut out = Vec::new();
                    ($($arg,)*).encode(&mut out);
                    let answer = transport(&out);
                    match decode_all::<R>(&answer) {
                        Ok(r) => r,
                        Err(e) => crate::failure::fail_call(crate::FailureKind::Protocol, format!(
                            "the candidate's answer does not decode as `{}`: {e}",
                            std::any::type_name::<R>()
                        )),
                    }
                })
            }

            #[allow(non_snake_case)]
            fn serve(f: Self, input: &[u8]) -> Result<Vec<u8>, WireError> {
                let ($($arg,)*) = decode_all::<($($arg,)*)>(input)?;
                let mut out = Vec::new();
                f($($arg),*).encode(&mut out);
                Ok(out)
            }
        }
    };
}
wire_fn!();
wire_fn!(A);
wire_fn!(A, B);
wire_fn!(A, B, C);
wire_fn!(A, B, C, D);
wire_fn!(A, B, C, D, E);
wire_fn!(A, B, C, D, E, F);

/// The candidate-side shim `export_candidate!` exports per entry:
/// arguments in, result out, or why not.
pub type ServeFn = fn(&[u8]) -> Result<Vec<u8>, String>;

/// Picks, at the macro's expansion site, the wire shim of a [`WireFn`]
/// type or a refusal for any other type, so that `export_candidate!`
/// accepts both (entries of other types are only reachable unsealed).
#[doc(hidden)]
pub struct Probe<F>(std::marker::PhantomData<F>);

impl<F> Probe<F> {
    pub const fn new() -> Self {
        Self(std::marker::PhantomData)
    }
}

impl<F> Default for Probe<F> {
    fn default() -> Self {
        Self::new()
    }
}

#[doc(hidden)]
pub trait ServeViaWire<F> {
    fn serve_call(&self, f: F, input: &[u8]) -> Result<Vec<u8>, String>;
}

impl<F: WireFn> ServeViaWire<F> for &Probe<F> {
    fn serve_call(&self, f: F, input: &[u8]) -> Result<Vec<u8>, String> {
        F::serve(f, input).map_err(|e| e.to_string())
    }
}

#[doc(hidden)]
pub trait ServeRefused<F> {
    fn serve_call(&self, f: F, input: &[u8]) -> Result<Vec<u8>, String>;
}

impl<F> ServeRefused<F> for Probe<F> {
    fn serve_call(&self, _: F, _: &[u8]) -> Result<Vec<u8>, String> {
        Err(format!("`{}` cannot be called across the process boundary", std::any::type_name::<F>()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Wire + PartialEq + fmt::Debug>(value: T) {
        let mut out = Vec::new();
        value.encode(&mut out);
        assert_eq!(decode_all::<T>(&out).unwrap(), value);
    }

    #[test]
    fn values_round_trip() {
        round_trip((1usize, -2i64, 0.1f64, true, 'λ'));
        round_trip(vec![(0.5f64, 0.25f64, 0.125f64); 3]);
        round_trip(Some(String::from("naïve \"text\"")));
        round_trip::<Result<[u8; 3], String>>(Err("no".into()));
        round_trip::<Result<[u8; 3], String>>(Ok([1, 2, 3]));
        round_trip(f64::NAN.to_bits());
    }

    #[test]
    fn hostile_lengths_are_errors_not_allocations() {
        let mut out = Vec::new();
        u32::MAX.encode(&mut out);
        assert!(decode_all::<Vec<u64>>(&out).is_err());
        assert!(decode_all::<String>(&out).is_err());
        assert!(decode_all::<bool>(&[7]).is_err());
        assert!(decode_all::<u8>(&[1, 2]).is_err(), "trailing bytes are refused");
    }

    #[test]
    fn a_shim_and_a_proxy_meet() {
        fn add(a: u32, b: Vec<u32>) -> Option<u64> {
            Some(a as u64 + b.iter().map(|&x| x as u64).sum::<u64>())
        }
        type F = fn(u32, Vec<u32>) -> Option<u64>;
        let transport: Transport =
            std::sync::Arc::new(|input: &[u8]| <F as WireFn>::serve(add as F, input).unwrap());
        let proxy = <F as WireFn>::proxy(transport);
        assert_eq!(proxy(1, vec![2, 3]), Some(6));
        // A type outside the encoding is refused at the shim, not at build time.
        let refused = (&&Probe::<fn(&str) -> usize>::new()).serve_call(str::len as fn(&str) -> usize, &[]);
        assert!(refused.is_err());
        let accepted = (&&Probe::<F>::new()).serve_call(add as F, &{
            let mut v = Vec::new();
            (1u32, vec![1u32]).encode(&mut v);
            v
        });
        assert!(accepted.is_ok());
    }
}
