//! Line charts rendered to PNG with plotters and a bundled font, so a
//! figure looks the same on every machine and needs no system fonts.

use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::FontStyle;

use crate::error::RecorderError;
use crate::image::{Image, Png};

/// DejaVu Sans Mono, Latin-1 subset (see assets/LICENSE-DejaVu.txt).
const FONT: &[u8] = include_bytes!("../assets/DejaVuSansMono-subset.ttf");
const FONT_FAMILY: &str = "rystematic-mono";

/// A line chart of one or more series, for [`Recorder::figure`](crate::Recorder::figure).
/// Needs the `figures` feature (on by default).
///
/// ```
/// use rystematic_recorder::LineChart;
///
/// let losses: Vec<(f64, f64)> = (0..100).map(|s| (s as f64, 1.0 / (1.0 + s as f64))).collect();
/// let chart = LineChart::new("Training loss")
///     .x_label("step")
///     .y_label("loss")
///     .series("train", losses);
/// # let _ = chart;
/// ```
#[derive(Debug, Clone)]
pub struct LineChart {
    title: String,
    x_label: String,
    y_label: String,
    series: Vec<(String, Vec<(f64, f64)>)>,
    size: (u32, u32),
}

impl LineChart {
    /// An empty chart with a title, 640×480.
    pub fn new(title: &str) -> LineChart {
        LineChart {
            title: title.to_owned(),
            x_label: String::new(),
            y_label: String::new(),
            series: Vec::new(),
            size: (640, 480),
        }
    }

    /// The x axis label.
    pub fn x_label(mut self, label: &str) -> LineChart {
        self.x_label = label.to_owned();
        self
    }

    /// The y axis label.
    pub fn y_label(mut self, label: &str) -> LineChart {
        self.y_label = label.to_owned();
        self
    }

    /// Adds a named series of `(x, y)` points.
    pub fn series(mut self, name: &str, points: impl IntoIterator<Item = (f64, f64)>) -> LineChart {
        self.series
            .push((name.to_owned(), points.into_iter().collect()));
        self
    }

    /// The image size in pixels.
    pub fn size(mut self, width: u32, height: u32) -> LineChart {
        self.size = (width.max(64), height.max(64));
        self
    }

    /// Renders the chart to PNG.
    pub(crate) fn to_png(&self) -> Result<Png, RecorderError> {
        register_font()?;
        let (width, height) = self.size;
        let mut rgb = vec![0u8; width as usize * height as usize * 3];
        self.draw(&mut rgb)
            .map_err(|e| RecorderError::Encode(format!("cannot draw the figure: {e}")))?;
        Image::rgb(width, height, &rgb)?.to_png()
    }

    fn draw(&self, rgb: &mut [u8]) -> Result<(), Box<dyn std::error::Error + '_>> {
        let root = BitMapBackend::with_buffer(rgb, self.size).into_drawing_area();
        root.fill(&WHITE)?;
        let finite = self
            .series
            .iter()
            .flat_map(|(_, points)| points.iter())
            .filter(|(x, y)| x.is_finite() && y.is_finite());
        let (mut x0, mut x1, mut y0, mut y1) = (f64::MAX, f64::MIN, f64::MAX, f64::MIN);
        for &(x, y) in finite {
            (x0, x1, y0, y1) = (x0.min(x), x1.max(x), y0.min(y), y1.max(y));
        }
        if x0 > x1 {
            (x0, x1, y0, y1) = (0.0, 1.0, 0.0, 1.0);
        }
        let pad = |lo: f64, hi: f64| if hi > lo { (hi - lo) * 0.05 } else { 0.5 };
        let (px, py) = (pad(x0, x1), pad(y0, y1));
        let mut chart = ChartBuilder::on(&root)
            .caption(&self.title, (FONT_FAMILY, 22))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(60)
            .build_cartesian_2d((x0 - px)..(x1 + px), (y0 - py)..(y1 + py))?;
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .label_style((FONT_FAMILY, 13))
            .axis_desc_style((FONT_FAMILY, 15))
            .draw()?;
        for (i, (name, points)) in self.series.iter().enumerate() {
            let color = Palette99::pick(i).to_rgba();
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new([(x, y), (x + 18, y)], color.stroke_width(2))
                });
        }
        if self.series.iter().any(|(name, _)| !name.is_empty()) {
            chart
                .configure_series_labels()
                .label_font((FONT_FAMILY, 13))
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .draw()?;
        }
        root.present()?;
        Ok(())
    }
}

fn register_font() -> Result<(), RecorderError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font(FONT_FAMILY, FontStyle::Normal, FONT)
                .map_err(|_| "the bundled font is invalid".to_owned())
        })
        .clone()
        .map_err(RecorderError::Encode)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_a_png_with_ink_on_it() {
        let chart = LineChart::new("loss")
            .x_label("step")
            .y_label("loss")
            .series(
                "train",
                (0..50).map(|s| (f64::from(s), 1.0 / (1.0 + f64::from(s)))),
            )
            .size(320, 240);
        let png = chart.to_png().unwrap();
        assert_eq!((png.width, png.height, png.channels), (320, 240, 3));
        let decoder = png::Decoder::new(std::io::Cursor::new(&png.bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut rgb = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut rgb).unwrap();
        let non_white = rgb.chunks(3).filter(|p| p != &[255, 255, 255]).count();
        assert!(
            non_white > 1000,
            "axes, text and the line were drawn ({non_white} px)"
        );
    }

    #[test]
    fn empty_and_degenerate_charts_still_render() {
        assert!(LineChart::new("empty").to_png().is_ok());
        assert!(
            LineChart::new("flat")
                .series("", [(1.0, 2.0)])
                .to_png()
                .is_ok()
        );
        assert!(
            LineChart::new("nan")
                .series("x", [(0.0, f64::NAN)])
                .to_png()
                .is_ok()
        );
    }
}
