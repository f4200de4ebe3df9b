//! A reader for NumPy's `.npy` array format (versions 1.0, 2.0 and 3.0).
//!
//! MedMNIST ships its data as `.npz` archives of `.npy` members, and `sweep`
//! must read them without Python and without libtorch. Only the small subset
//! of the format that numeric datasets use is supported: a single array of a
//! plain numeric dtype in C order. Anything else is rejected with an error
//! that says what was found, rather than being misread.
//!
//! Files are untrusted input, so memory stays bounded: the header length is
//! capped, the byte size the header declares is checked against the size of
//! the member that holds it and against a caller-chosen limit before any data
//! buffer exists, and the buffer then grows only as bytes actually arrive,
//! never past the declared size.

use std::fmt;
use std::io::{self, Read};

/// The six-byte prefix of every `.npy` file.
const MAGIC: &[u8; 6] = b"\x93NUMPY";

/// Largest header accepted. NumPy itself writes headers of a few hundred
/// bytes; the cap only stops a hostile length field from forcing a large
/// allocation.
const MAX_HEADER_BYTES: usize = 1 << 20;

/// Data is read in pieces that start at this size and double, so a member
/// that ends early never costs more memory than the bytes it really held.
const FIRST_CHUNK_BYTES: usize = 1 << 20;

/// How many bytes past the declared size are counted when reporting a member
/// that holds too much data.
const TRAILING_PROBE_BYTES: u64 = 1 << 16;

/// Element types the reader understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dtype {
    /// `|u1`: unsigned byte (MedMNIST images and labels).
    U8,
    /// `|b1`: boolean stored as one byte, 0 or 1.
    Bool,
    /// `<i4`: little-endian 32-bit signed integer.
    I32,
    /// `<i8`: little-endian 64-bit signed integer.
    I64,
    /// `<f4`: little-endian IEEE single.
    F32,
    /// `<f8`: little-endian IEEE double.
    F64,
}

impl Dtype {
    /// Bytes per element.
    pub fn item_size(self) -> usize {
        match self {
            Dtype::U8 | Dtype::Bool => 1,
            Dtype::I32 | Dtype::F32 => 4,
            Dtype::I64 | Dtype::F64 => 8,
        }
    }

    /// The NumPy type string, as NumPy writes it in headers.
    pub fn descr(self) -> &'static str {
        match self {
            Dtype::U8 => "|u1",
            Dtype::Bool => "|b1",
            Dtype::I32 => "<i4",
            Dtype::I64 => "<i8",
            Dtype::F32 => "<f4",
            Dtype::F64 => "<f8",
        }
    }

    /// Parses a NumPy type string. Single-byte types have no byte order, so
    /// `<u1` and `=u1` are accepted as well as NumPy's own `|u1`.
    pub fn from_descr(descr: &str) -> Option<Dtype> {
        match descr {
            "|u1" | "<u1" | "=u1" | ">u1" => Some(Dtype::U8),
            "|b1" | "<b1" | "=b1" | ">b1" => Some(Dtype::Bool),
            "<i4" => Some(Dtype::I32),
            "<i8" => Some(Dtype::I64),
            "<f4" => Some(Dtype::F32),
            "<f8" => Some(Dtype::F64),
            _ => None,
        }
    }
}

impl fmt::Display for Dtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.descr())
    }
}

/// One array as raw little-endian bytes in C (row-major) order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NpyArray {
    pub dtype: Dtype,
    pub shape: Vec<usize>,
    /// `shape.iter().product() * dtype.item_size()` bytes.
    pub data: Vec<u8>,
}

impl NpyArray {
    /// Number of elements (1 for a 0-d array).
    pub fn num_elements(&self) -> usize {
        self.shape.iter().product()
    }

    /// The shape written the way NumPy prints it: `(4708, 28, 28)`, `(5,)`, `()`.
    pub fn shape_string(&self) -> String {
        format_shape(&self.shape)
    }

    /// The data as bytes, when the element type is one byte wide.
    pub fn as_u8(&self) -> Option<&[u8]> {
        matches!(self.dtype, Dtype::U8 | Dtype::Bool).then_some(self.data.as_slice())
    }

    /// Every element converted to `f64`, whatever the stored type.
    /// (`<i8` values beyond 2^53 lose precision.)
    pub fn to_f64_vec(&self) -> Vec<f64> {
        let size = self.dtype.item_size();
        self.data
            .chunks_exact(size)
            .map(|c| match self.dtype {
                Dtype::U8 | Dtype::Bool => f64::from(c[0]),
                Dtype::I32 => f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                Dtype::I64 => i64::from_le_bytes(eight(c)) as f64,
                Dtype::F32 => f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
                Dtype::F64 => f64::from_le_bytes(eight(c)),
            })
            .collect()
    }
}

fn eight(c: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(c);
    out
}

/// Formats a shape like a Python tuple.
pub fn format_shape(shape: &[usize]) -> String {
    match shape {
        [] => "()".to_string(),
        [one] => format!("({one},)"),
        _ => {
            let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
            format!("({})", parts.join(", "))
        }
    }
}

/// What was wrong with an `.npy` stream. The caller adds the file and key.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    #[error("bad magic: not an .npy array (starts with {found:02x?}, expected 93 4e 55 4d 50 59)")]
    BadMagic { found: Vec<u8> },

    #[error("unsupported .npy format version {major}.{minor} (supported: 1.0, 2.0, 3.0)")]
    UnsupportedVersion { major: u8, minor: u8 },

    #[error("header length {len} bytes exceeds the {limit}-byte limit")]
    HeaderTooLong { len: usize, limit: usize },

    #[error("malformed header: {detail} (header text: {header:?})")]
    BadHeader { detail: String, header: String },

    #[error("unsupported dtype {descr} (supported: |u1, |b1, <i4, <i8, <f4, <f8)")]
    UnsupportedDtype { descr: String },

    #[error("array is stored in Fortran order (fortran_order: True); only C order is supported")]
    FortranOrder,

    #[error(
        "header declares shape {shape} = {declared} bytes, over the {limit}-byte limit; refusing to allocate"
    )]
    TooLarge {
        shape: String,
        /// Saturates at `u64::MAX` for absurd shapes.
        declared: u64,
        limit: u64,
    },

    #[error("header declares shape {shape} = {declared} bytes but member holds {held}")]
    SizeMismatch {
        shape: String,
        declared: u64,
        held: String,
    },

    #[error(
        "truncated: header declares shape {shape} = {declared} bytes but the data ended after {read}"
    )]
    Truncated {
        shape: String,
        declared: u64,
        read: u64,
    },

    #[error("read failed: {0}")]
    Read(#[source] io::Error),
}

/// Reads one `.npy` array from `reader`.
///
/// `member_size` is the total size of the stream, header included, when the
/// container knows it (a zip member's uncompressed size); the declared data
/// size must then match it exactly. `max_array_bytes` caps the data size.
/// Both checks happen before the data buffer is allocated. After the data,
/// the stream must be at its end.
pub fn read_npy<R: Read>(
    reader: &mut R,
    member_size: Option<u64>,
    max_array_bytes: u64,
) -> Result<NpyArray, NpyError> {
    let mut prefix = [0u8; 8];
    let got = read_up_to(reader, &mut prefix).map_err(NpyError::Read)?;
    if got < prefix.len() || &prefix[..6] != MAGIC {
        return Err(NpyError::BadMagic {
            found: prefix[..got.min(6)].to_vec(),
        });
    }
    let (major, minor) = (prefix[6], prefix[7]);
    let (header_len, prefix_len) = match major {
        1 => {
            let mut len = [0u8; 2];
            read_header_bytes(reader, &mut len)?;
            (usize::from(u16::from_le_bytes(len)), 10usize)
        }
        2 | 3 => {
            let mut len = [0u8; 4];
            read_header_bytes(reader, &mut len)?;
            let len = usize::try_from(u32::from_le_bytes(len)).unwrap_or(usize::MAX);
            (len, 12usize)
        }
        _ => return Err(NpyError::UnsupportedVersion { major, minor }),
    };
    if minor != 0 {
        return Err(NpyError::UnsupportedVersion { major, minor });
    }
    if header_len > MAX_HEADER_BYTES {
        return Err(NpyError::HeaderTooLong {
            len: header_len,
            limit: MAX_HEADER_BYTES,
        });
    }
    let mut header = vec![0u8; header_len];
    read_header_bytes(reader, &mut header)?;
    let text = String::from_utf8(header).map_err(|e| NpyError::BadHeader {
        detail: "header is not text".to_string(),
        header: String::from_utf8_lossy(e.as_bytes()).into_owned(),
    })?;
    let parsed = parse_header(&text)?;
    let shape_text = format_shape(&parsed.shape);

    let declared = parsed
        .shape
        .iter()
        .fold(parsed.dtype.item_size() as u64, |acc, &d| {
            acc.saturating_mul(d as u64)
        });
    if let Some(total) = member_size {
        let held = total.checked_sub((prefix_len + header_len) as u64);
        if held != Some(declared) {
            return Err(NpyError::SizeMismatch {
                shape: shape_text,
                declared,
                held: match held {
                    Some(h) => h.to_string(),
                    None => format!("only {total} bytes in all, less than its own header"),
                },
            });
        }
    }
    if declared > max_array_bytes || usize::try_from(declared).is_err() {
        return Err(NpyError::TooLarge {
            shape: shape_text,
            declared,
            limit: max_array_bytes,
        });
    }
    let declared = declared as usize;

    let data = read_bounded(reader, declared).map_err(|e| match e {
        BoundedRead::Short(read) => NpyError::Truncated {
            shape: shape_text.clone(),
            declared: declared as u64,
            read: read as u64,
        },
        BoundedRead::Io(e) => NpyError::Read(e),
    })?;

    // The stream must end here; reading to the end also lets the container
    // verify its checksum.
    let extra = io::copy(&mut reader.take(TRAILING_PROBE_BYTES), &mut io::sink())
        .map_err(NpyError::Read)?;
    if extra > 0 {
        let held = if extra == TRAILING_PROBE_BYTES {
            format!("more than {}", declared as u64 + extra)
        } else {
            (declared as u64 + extra).to_string()
        };
        return Err(NpyError::SizeMismatch {
            shape: shape_text,
            declared: declared as u64,
            held,
        });
    }

    Ok(NpyArray {
        dtype: parsed.dtype,
        shape: parsed.shape,
        data,
    })
}

fn read_header_bytes<R: Read>(reader: &mut R, buf: &mut [u8]) -> Result<(), NpyError> {
    let got = read_up_to(reader, buf).map_err(NpyError::Read)?;
    if got < buf.len() {
        return Err(NpyError::BadHeader {
            detail: format!(
                "stream ended inside the header ({got} of {} bytes)",
                buf.len()
            ),
            header: String::from_utf8_lossy(&buf[..got]).into_owned(),
        });
    }
    Ok(())
}

/// Fills `buf` as far as the stream allows; returns how many bytes arrived.
fn read_up_to<R: Read>(reader: &mut R, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

enum BoundedRead {
    Short(usize),
    Io(io::Error),
}

/// Reads exactly `len` bytes, growing the buffer in doubling steps so that its
/// capacity never exceeds `len` and tracks the bytes actually received.
fn read_bounded<R: Read>(reader: &mut R, len: usize) -> Result<Vec<u8>, BoundedRead> {
    let mut data: Vec<u8> = Vec::new();
    while data.len() < len {
        let step = data.len().max(FIRST_CHUNK_BYTES).min(len - data.len());
        let start = data.len();
        data.reserve_exact(step);
        data.resize(start + step, 0);
        let got = read_up_to(reader, &mut data[start..]).map_err(BoundedRead::Io)?;
        if got < step {
            return Err(BoundedRead::Short(start + got));
        }
    }
    Ok(data)
}

struct Header {
    dtype: Dtype,
    shape: Vec<usize>,
}

/// A Python literal as it appears in an `.npy` header.
#[derive(Debug, Clone, PartialEq)]
enum Literal {
    Str(String),
    Int(u64),
    Bool(bool),
    None,
    Tuple(Vec<Literal>),
    List(Vec<Literal>),
    Dict(Vec<(Literal, Literal)>),
}

impl Literal {
    /// Source-like rendering, for error messages.
    fn render(&self) -> String {
        match self {
            Literal::Str(s) => format!("'{s}'"),
            Literal::Int(i) => i.to_string(),
            Literal::Bool(true) => "True".to_string(),
            Literal::Bool(false) => "False".to_string(),
            Literal::None => "None".to_string(),
            Literal::Tuple(items) => {
                let inner: Vec<String> = items.iter().map(Literal::render).collect();
                if items.len() == 1 {
                    format!("({},)", inner[0])
                } else {
                    format!("({})", inner.join(", "))
                }
            }
            Literal::List(items) => {
                let inner: Vec<String> = items.iter().map(Literal::render).collect();
                format!("[{}]", inner.join(", "))
            }
            Literal::Dict(items) => {
                let inner: Vec<String> = items
                    .iter()
                    .map(|(k, v)| format!("{}: {}", k.render(), v.render()))
                    .collect();
                format!("{{{}}}", inner.join(", "))
            }
        }
    }
}

fn parse_header(text: &str) -> Result<Header, NpyError> {
    let bad = |detail: String| NpyError::BadHeader {
        detail,
        header: text.trim_end().to_string(),
    };
    let mut parser = LiteralParser {
        bytes: text.as_bytes(),
        pos: 0,
    };
    let value = parser.value().map_err(&bad)?;
    parser.skip_space();
    if parser.pos != parser.bytes.len() {
        return Err(bad(format!("unexpected text at byte {}", parser.pos)));
    }
    let Literal::Dict(entries) = value else {
        return Err(bad("header is not a dict".to_string()));
    };
    let get = |name: &str| {
        entries
            .iter()
            .find(|(k, _)| *k == Literal::Str(name.to_string()))
            .map(|(_, v)| v)
    };
    let descr = get("descr").ok_or_else(|| bad("no 'descr' entry".to_string()))?;
    let fortran =
        get("fortran_order").ok_or_else(|| bad("no 'fortran_order' entry".to_string()))?;
    let shape = get("shape").ok_or_else(|| bad("no 'shape' entry".to_string()))?;

    let dtype = match descr {
        Literal::Str(s) => Dtype::from_descr(s).ok_or_else(|| NpyError::UnsupportedDtype {
            descr: format!("'{s}'"),
        })?,
        other => {
            return Err(NpyError::UnsupportedDtype {
                descr: other.render(),
            });
        }
    };
    match fortran {
        Literal::Bool(false) => {}
        Literal::Bool(true) => return Err(NpyError::FortranOrder),
        other => return Err(bad(format!("fortran_order is {}", other.render()))),
    }
    let Literal::Tuple(dims) = shape else {
        return Err(bad(format!("shape is {}, not a tuple", shape.render())));
    };
    let shape = dims
        .iter()
        .map(|d| match d {
            Literal::Int(n) => {
                usize::try_from(*n).map_err(|_| bad(format!("dimension {n} too large")))
            }
            other => Err(bad(format!(
                "shape entry {} is not an integer",
                other.render()
            ))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Header { dtype, shape })
}

/// Recursive-descent parser for the Python literal subset NumPy writes.
struct LiteralParser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl LiteralParser<'_> {
    fn skip_space(&mut self) {
        while self
            .bytes
            .get(self.pos)
            .is_some_and(|b| b.is_ascii_whitespace())
        {
            self.pos += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_space();
        self.bytes.get(self.pos).copied()
    }

    fn value(&mut self) -> Result<Literal, String> {
        match self.peek() {
            None => Err("unexpected end of header".to_string()),
            Some(b'{') => {
                self.pos += 1;
                let mut entries = Vec::new();
                loop {
                    if self.peek() == Some(b'}') {
                        self.pos += 1;
                        return Ok(Literal::Dict(entries));
                    }
                    let key = self.value()?;
                    self.expect(b':')?;
                    let value = self.value()?;
                    entries.push((key, value));
                    if !self.separator(b'}')? {
                        return Ok(Literal::Dict(entries));
                    }
                }
            }
            Some(open @ (b'(' | b'[')) => {
                let close = if open == b'(' { b')' } else { b']' };
                self.pos += 1;
                let mut items = Vec::new();
                loop {
                    if self.peek() == Some(close) {
                        self.pos += 1;
                        break;
                    }
                    items.push(self.value()?);
                    if !self.separator(close)? {
                        break;
                    }
                }
                Ok(if open == b'(' {
                    Literal::Tuple(items)
                } else {
                    Literal::List(items)
                })
            }
            Some(quote @ (b'\'' | b'"')) => {
                self.pos += 1;
                let start = self.pos;
                while self.bytes.get(self.pos).is_some_and(|&b| b != quote) {
                    self.pos += 1;
                }
                if self.pos >= self.bytes.len() {
                    return Err("unterminated string".to_string());
                }
                let s = String::from_utf8_lossy(&self.bytes[start..self.pos]).into_owned();
                self.pos += 1;
                Ok(Literal::Str(s))
            }
            Some(b'0'..=b'9') => {
                let start = self.pos;
                while self.bytes.get(self.pos).is_some_and(u8::is_ascii_digit) {
                    self.pos += 1;
                }
                let digits = std::str::from_utf8(&self.bytes[start..self.pos]).unwrap_or("");
                let n = digits
                    .parse::<u64>()
                    .map_err(|_| format!("integer {digits} out of range"))?;
                // Python 2 wrote long integers with an `L` suffix.
                if self.bytes.get(self.pos) == Some(&b'L') {
                    self.pos += 1;
                }
                Ok(Literal::Int(n))
            }
            Some(b) if b.is_ascii_alphabetic() => {
                let start = self.pos;
                while self
                    .bytes
                    .get(self.pos)
                    .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
                {
                    self.pos += 1;
                }
                match &self.bytes[start..self.pos] {
                    b"True" => Ok(Literal::Bool(true)),
                    b"False" => Ok(Literal::Bool(false)),
                    b"None" => Ok(Literal::None),
                    word => Err(format!(
                        "unexpected word {:?}",
                        String::from_utf8_lossy(word)
                    )),
                }
            }
            Some(b) => Err(format!("unexpected character {:?}", char::from(b))),
        }
    }

    fn expect(&mut self, want: u8) -> Result<(), String> {
        if self.peek() == Some(want) {
            self.pos += 1;
            Ok(())
        } else {
            Err(format!(
                "expected {:?} at byte {}",
                char::from(want),
                self.pos
            ))
        }
    }

    /// After an item: consumes `,` (returns true, more may follow) or the
    /// closing bracket (returns false).
    fn separator(&mut self, close: u8) -> Result<bool, String> {
        match self.peek() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(b) if b == close => {
                self.pos += 1;
                Ok(false)
            }
            _ => Err(format!(
                "expected ',' or {:?} at byte {}",
                char::from(close),
                self.pos
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::npy_bytes;

    const LIMIT: u64 = 1 << 30;

    fn read(bytes: &[u8]) -> Result<NpyArray, NpyError> {
        read_npy(&mut &bytes[..], Some(bytes.len() as u64), LIMIT)
    }

    #[test]
    fn reads_every_supported_dtype_and_version() {
        let cases: [(&str, usize); 6] = [
            ("|u1", 1),
            ("|b1", 1),
            ("<i4", 4),
            ("<i8", 8),
            ("<f4", 4),
            ("<f8", 8),
        ];
        for version in [1u8, 2, 3] {
            for (descr, size) in cases {
                let data: Vec<u8> = (0..(6 * size) as u8).collect();
                let bytes = npy_bytes(version, descr, false, &[2, 3], &data);
                let array = read(&bytes).unwrap();
                assert_eq!(array.dtype.descr(), descr);
                assert_eq!(array.dtype.item_size(), size);
                assert_eq!(array.shape, vec![2, 3]);
                assert_eq!(array.data, data, "v{version} {descr}");
            }
        }
    }

    #[test]
    fn converts_values_to_f64() {
        let mut data = Vec::new();
        for v in [-1.5f32, 0.0, 2.25] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        let array = read(&npy_bytes(1, "<f4", false, &[3], &data)).unwrap();
        assert_eq!(array.to_f64_vec(), vec![-1.5, 0.0, 2.25]);
        assert_eq!(array.as_u8(), None);

        let mut data = Vec::new();
        for v in [-7i64, 1 << 40] {
            data.extend_from_slice(&v.to_le_bytes());
        }
        let array = read(&npy_bytes(1, "<i8", false, &[2], &data)).unwrap();
        assert_eq!(array.to_f64_vec(), vec![-7.0, (1u64 << 40) as f64]);
    }

    #[test]
    fn zero_dimensional_and_empty_arrays() {
        let scalar = read(&npy_bytes(1, "|u1", false, &[], &[42])).unwrap();
        assert_eq!(
            (scalar.shape_string(), scalar.num_elements()),
            ("()".to_string(), 1)
        );
        assert_eq!(scalar.as_u8(), Some(&[42u8][..]));
        let empty = read(&npy_bytes(1, "<f8", false, &[0, 5], &[])).unwrap();
        assert_eq!(empty.num_elements(), 0);
        assert!(empty.data.is_empty());
    }

    #[test]
    fn parses_header_variants() {
        // Double quotes, Python 2 longs, no trailing comma, keys in another order.
        let header = "{\"shape\": (2L, 2L), \"fortran_order\": False, \"descr\": \"|u1\"}";
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(header.len() as u16 + 1).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.push(b'\n');
        bytes.extend_from_slice(&[1, 2, 3, 4]);
        let array = read(&bytes).unwrap();
        assert_eq!(array.shape, vec![2, 2]);
        assert_eq!(array.data, vec![1, 2, 3, 4]);
    }

    #[test]
    fn rejects_bad_magic_and_versions() {
        let mut bytes = npy_bytes(1, "|u1", false, &[1], &[0]);
        bytes[1] = b'X';
        assert!(matches!(read(&bytes), Err(NpyError::BadMagic { .. })));
        assert!(matches!(read(b"PK\x03"), Err(NpyError::BadMagic { .. })));

        let mut bytes = npy_bytes(1, "|u1", false, &[1], &[0]);
        bytes[6] = 4;
        let err = read(&bytes).unwrap_err();
        assert!(matches!(
            err,
            NpyError::UnsupportedVersion { major: 4, minor: 0 }
        ));
        assert!(err.to_string().contains("4.0"), "{err}");
    }

    #[test]
    fn rejects_unsupported_dtypes_and_fortran_order() {
        for descr in ["<u2", ">f4", "<c8", "|O", "<U5"] {
            let err = read(&npy_bytes(1, descr, false, &[1], &[0, 0])).unwrap_err();
            assert!(
                matches!(err, NpyError::UnsupportedDtype { .. }),
                "{descr}: {err}"
            );
            assert!(err.to_string().contains(descr), "{err}");
        }
        // Structured dtypes are written as a list.
        let header = "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }";
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(&[0; 4]);
        let err = read(&bytes).unwrap_err();
        assert!(matches!(err, NpyError::UnsupportedDtype { .. }), "{err}");

        let err = read(&npy_bytes(1, "|u1", true, &[2, 2], &[0; 4])).unwrap_err();
        assert!(matches!(err, NpyError::FortranOrder));
        assert!(err.to_string().contains("Fortran"));
    }

    #[test]
    fn rejects_malformed_headers() {
        for header in [
            "{'descr': '|u1', 'shape': (1,), }",
            "{'descr': '|u1', 'fortran_order': False, 'shape': [1], }",
            "{'descr': '|u1', 'fortran_order': False, 'shape': (1,)",
            "not a dict",
            "{'descr': '|u1', 'fortran_order': Maybe, 'shape': (1,), }",
        ] {
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&[1, 0]);
            bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
            bytes.extend_from_slice(header.as_bytes());
            bytes.push(0);
            assert!(
                matches!(read(&bytes), Err(NpyError::BadHeader { .. })),
                "{header}"
            );
        }
        // A header length that points past the end of the stream.
        let mut bytes = npy_bytes(1, "|u1", false, &[1], &[0]);
        bytes[8] = 0xff;
        bytes[9] = 0xff;
        assert!(matches!(read(&bytes), Err(NpyError::BadHeader { .. })));
    }

    #[test]
    fn header_length_is_capped_before_allocation() {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[2, 0]);
        bytes.extend_from_slice(&u32::MAX.to_le_bytes());
        let err = read_npy(&mut &bytes[..], None, LIMIT).unwrap_err();
        assert!(matches!(err, NpyError::HeaderTooLong { .. }), "{err}");
    }

    #[test]
    fn size_mismatch_names_shape_and_both_sizes() {
        let bytes = npy_bytes(1, "|u1", false, &[4, 5], &[0; 20]);
        // The container says the member is 8 bytes shorter than the header implies.
        let err = read_npy(&mut &bytes[..], Some(bytes.len() as u64 - 8), LIMIT).unwrap_err();
        assert_eq!(
            err.to_string(),
            "header declares shape (4, 5) = 20 bytes but member holds 12"
        );
    }

    #[test]
    fn truncated_stream_is_reported_with_byte_counts() {
        let bytes = npy_bytes(1, "<f4", false, &[10], &[0; 40]);
        let cut = &bytes[..bytes.len() - 15];
        let err = read_npy(&mut &cut[..], None, LIMIT).unwrap_err();
        assert!(
            matches!(
                err,
                NpyError::Truncated {
                    declared: 40,
                    read: 25,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn trailing_bytes_are_rejected() {
        let mut bytes = npy_bytes(1, "|u1", false, &[3], &[1, 2, 3]);
        bytes.extend_from_slice(&[9, 9]);
        let err = read_npy(&mut &bytes[..], None, LIMIT).unwrap_err();
        assert_eq!(
            err.to_string(),
            "header declares shape (3,) = 3 bytes but member holds 5"
        );
    }

    #[test]
    fn declared_size_over_limit_fails_before_reading() {
        // A header claiming 2^40 elements with no data behind it at all.
        let bytes = npy_bytes(1, "|u1", false, &[1 << 20, 1 << 20], &[]);
        let err = read_npy(&mut &bytes[..], None, 1 << 20).unwrap_err();
        assert!(
            matches!(err, NpyError::TooLarge { declared, limit, .. } if declared == 1 << 40 && limit == 1 << 20),
            "{err}"
        );
        // A product that overflows 64 bits is still caught.
        let huge = usize::MAX / 2;
        let bytes = npy_bytes(1, "<f8", false, &[huge, huge, huge], &[]);
        assert!(matches!(
            read_npy(&mut &bytes[..], None, LIMIT),
            Err(NpyError::TooLarge { .. })
        ));
    }

    #[test]
    fn formats_shapes_like_python() {
        assert_eq!(format_shape(&[]), "()");
        assert_eq!(format_shape(&[7]), "(7,)");
        assert_eq!(format_shape(&[4708, 28, 28]), "(4708, 28, 28)");
    }
}
