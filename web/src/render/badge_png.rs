//! PNG badges: the SVG badge of [`crate::render::badge`] rasterised with resvg,
//! for pages that cannot embed SVG. The text is drawn in DejaVu Sans,
//! embedded at build time (Debian's `fonts-dejavu-core`, a free font), so
//! the rendering does not depend on the fonts of the serving host.
//!
//! Rendered images are cached per (label, state): there are only a few
//! states, and one render costs far more than serving bytes from memory.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use axum::body::Bytes;
use resvg::{tiny_skia, usvg};

/// DejaVu Sans, as installed by the Debian package `fonts-dejavu-core`.
const FONT: &[u8] = include_bytes!("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf");

/// Options with a font database holding only the embedded font, which also
/// stands in for the generic `sans-serif` family.
fn options() -> &'static usvg::Options<'static> {
    static OPTIONS: OnceLock<usvg::Options<'static>> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        let mut fonts = usvg::fontdb::Database::new();
        fonts.load_font_data(FONT.to_vec());
        fonts.set_sans_serif_family("DejaVu Sans");
        usvg::Options {
            font_family: "DejaVu Sans".into(),
            fontdb: Arc::new(fonts),
            ..usvg::Options::default()
        }
    })
}

/// Rasterises an SVG document at its own size (one pixel per user unit).
pub fn render(svg: &str) -> anyhow::Result<Vec<u8>> {
    let tree = usvg::Tree::from_str(svg, options())?;
    let size = tree.size().to_int_size();
    let mut pixmap = tiny_skia::Pixmap::new(size.width(), size.height())
        .ok_or_else(|| anyhow::anyhow!("empty SVG size {size:?}"))?;
    resvg::render(&tree, tiny_skia::Transform::default(), &mut pixmap.as_mut());
    Ok(pixmap.encode_png()?)
}

/// The PNG badge for a state, rendered once and then served from memory.
pub fn badge_png(label: &str, state: &str) -> anyhow::Result<Bytes> {
    static CACHE: OnceLock<Mutex<HashMap<(String, String), Bytes>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    let key = (label.to_string(), state.to_string());
    if let Some(png) = cache.lock().expect("badge cache").get(&key) {
        return Ok(png.clone());
    }
    let png = Bytes::from(render(&crate::render::badge::badge_svg(label, state))?);
    cache.lock().expect("badge cache").insert(key, png.clone());
    Ok(png)
}
