//! Status badges as the original serves them (`koschei/frontend/views.py`,
//! `badge`: `/badge/<collection>/<name>.svg` and `.png`), checked by
//! decoding the PNG the router answers.

mod common;

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use common::{world, Client, MIGRATIONS};
use http_body_util::BodyExt;
use sqlx::PgPool;
use tower::ServiceExt;

/// Status, headers and raw body of a GET.
async fn get_raw(c: &Client, uri: &str) -> (StatusCode, header::HeaderMap, Vec<u8>) {
    let res = c
        .app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (parts, body) = res.into_parts();
    let bytes = body.collect().await.unwrap().to_bytes().to_vec();
    (parts.status, parts.headers, bytes)
}

/// The `width` and `height` attributes of the SVG's root element.
fn svg_size(svg: &str) -> (u32, u32) {
    let root = &svg[..svg.find('>').unwrap()];
    let attr = |name: &str| -> u32 {
        let start = root.find(&format!(" {name}=\"")).unwrap() + name.len() + 3;
        let value = &root[start..start + root[start..].find('"').unwrap()];
        value.parse().unwrap_or_else(|_| panic!("{name}={value:?}"))
    };
    (attr("width"), attr("height"))
}

/// A decoded PNG: width, height and RGBA pixels.
struct Image {
    width: u32,
    height: u32,
    rgba: Vec<u8>,
}

impl Image {
    fn decode(bytes: &[u8]) -> Image {
        let mut decoder = png::Decoder::new(std::io::Cursor::new(bytes));
        decoder.set_transformations(png::Transformations::EXPAND);
        let mut reader = decoder.read_info().expect("a PNG header");
        let mut rgba = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut rgba).expect("PNG image data");
        assert_eq!(info.color_type, png::ColorType::Rgba);
        rgba.truncate(info.buffer_size());
        Image {
            width: info.width,
            height: info.height,
            rgba,
        }
    }

    fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let i = ((y * self.width + x) * 4) as usize;
        self.rgba[i..i + 4].try_into().unwrap()
    }

    /// Pixels of columns `xs` that are nearly white (the text).
    fn light_pixels(&self, xs: std::ops::Range<u32>) -> usize {
        xs.flat_map(|x| (0..self.height).map(move |y| (x, y)))
            .filter(|(x, y)| {
                let [r, g, b, a] = self.pixel(*x, *y);
                a > 200 && r > 200 && g > 200 && b > 200
            })
            .count()
    }
}

/// Whether a pixel is close to a colour (the badge's gradient shades it).
fn near(pixel: [u8; 4], rgb: [u8; 3]) -> bool {
    pixel[3] == 255 && pixel.iter().zip(rgb).all(|(a, b)| a.abs_diff(b) < 20)
}

/// The left (label) half ends where the state's colour starts, on the
/// badge's top row (above the text).
fn label_end(img: &Image, state_rgb: [u8; 3]) -> u32 {
    (0..img.width)
        .find(|x| near(img.pixel(*x, 3), state_rgb))
        .expect("the state's colour")
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn png_badge_is_the_svg_badge_rasterised(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    let svg = c.get("/badge/f25/eclipse.svg").await;
    svg.expect(StatusCode::OK, &["failing"]);
    let (status, headers, bytes) = get_raw(&c, "/badge/f25/eclipse.png").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "image/png");
    assert_eq!(
        headers[header::CACHE_CONTROL],
        svg.headers[header::CACHE_CONTROL]
    );
    let img = Image::decode(&bytes);
    assert_eq!((img.width, img.height), svg_size(&svg.body));
    // Grey label on the left, the failing red (#e05d44, under the SVG's
    // faint gradient) on the right, white text on both halves.
    let split = label_end(&img, [0xe0, 0x5d, 0x44]);
    assert!(split > 10 && split < img.width - 10, "split at {split}");
    assert!(
        near(img.pixel(3, 3), [0x55, 0x55, 0x55]),
        "{:?}",
        img.pixel(3, 3)
    );
    assert!(img.light_pixels(0..split) > 40, "no label text");
    assert!(img.light_pixels(split..img.width) > 40, "no state text");

    // Served again from the cache: the same image.
    let (_, _, again) = get_raw(&c, "/badge/f25/eclipse.png").await;
    assert_eq!(again, bytes);
}

#[sqlx::test(migrator = "MIGRATIONS")]
async fn png_badge_of_an_unknown_package_is_a_404_like_the_svg(pool: PgPool) {
    world(&pool).await;
    let mut c = Client::new(&pool);
    for uri in ["/badge/f25/nope", "/badge/nope/rnv"] {
        let svg = c.get(&format!("{uri}.svg")).await;
        svg.expect(StatusCode::NOT_FOUND, &["not found"]);
        let (status, headers, bytes) = get_raw(&c, &format!("{uri}.png")).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(headers[header::CONTENT_TYPE], "image/png");
        let img = Image::decode(&bytes);
        assert_eq!((img.width, img.height), svg_size(&svg.body));
        assert!(img.light_pixels(0..img.width) > 80, "no text");
    }
    // Other extensions are not badges.
    c.get("/badge/f25/rnv.gif")
        .await
        .expect(StatusCode::NOT_FOUND, &[".svg or .png"]);
}
