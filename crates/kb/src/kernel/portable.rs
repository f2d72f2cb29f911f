//! The edge of the scoring kernels for targets without a SIMD path here: the scalar kernel only.

/// No SIMD kernel on this target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Simd {}

/// None.
pub(super) fn detect() -> Option<Simd> {
    None
}

/// None.
pub(super) fn available() -> Vec<Simd> {
    Vec::new()
}

impl Simd {
    pub(super) fn name(self) -> &'static str {
        match self {}
    }

    pub(super) fn dots(self, _rows: &[u8], _q: &[i16], _out: &mut [i32]) {
        match self {}
    }

    pub(super) fn dot_f32(self, _a: &[f32], _b: &[f32]) -> Option<f32> {
        match self {}
    }
}
