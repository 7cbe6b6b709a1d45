//! Images to record: 8-bit gray, RGB or RGBA pixel buffers, encoded as PNG.

use crate::error::RecorderError;

/// An 8-bit image: `width × height` pixels, row by row, each `channels`
/// bytes (1 gray, 3 RGB, 4 RGBA).
///
/// ```
/// use rystematic_recorder::Image;
///
/// let pixels: Vec<u8> = (0..64 * 64).map(|i| (i % 256) as u8).collect();
/// let image = Image::gray(64, 64, &pixels).unwrap();
/// assert_eq!(image.width(), 64);
/// assert!(Image::rgb(2, 2, &[0; 5]).is_err());
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Image<'a> {
    width: u32,
    height: u32,
    channels: u8,
    pixels: &'a [u8],
}

impl<'a> Image<'a> {
    /// A grayscale image (one byte per pixel).
    ///
    /// # Errors
    /// If `pixels` does not hold exactly `width × height` bytes.
    pub fn gray(width: u32, height: u32, pixels: &'a [u8]) -> Result<Image<'a>, RecorderError> {
        Image::new(width, height, 1, pixels)
    }

    /// An RGB image (three bytes per pixel).
    ///
    /// # Errors
    /// If `pixels` does not hold exactly `width × height × 3` bytes.
    pub fn rgb(width: u32, height: u32, pixels: &'a [u8]) -> Result<Image<'a>, RecorderError> {
        Image::new(width, height, 3, pixels)
    }

    /// An RGBA image (four bytes per pixel).
    ///
    /// # Errors
    /// If `pixels` does not hold exactly `width × height × 4` bytes.
    pub fn rgba(width: u32, height: u32, pixels: &'a [u8]) -> Result<Image<'a>, RecorderError> {
        Image::new(width, height, 4, pixels)
    }

    fn new(
        width: u32,
        height: u32,
        channels: u8,
        pixels: &'a [u8],
    ) -> Result<Image<'a>, RecorderError> {
        let expected = width as usize * height as usize * usize::from(channels);
        if width == 0 || height == 0 || pixels.len() != expected {
            return Err(RecorderError::ImageSize {
                width,
                height,
                channels,
                len: pixels.len(),
            });
        }
        Ok(Image {
            width,
            height,
            channels,
            pixels,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Encodes the image as PNG.
    pub(crate) fn to_png(self) -> Result<Png, RecorderError> {
        let mut bytes = Vec::new();
        let mut encoder = png::Encoder::new(&mut bytes, self.width, self.height);
        encoder.set_color(match self.channels {
            1 => png::ColorType::Grayscale,
            3 => png::ColorType::Rgb,
            _ => png::ColorType::Rgba,
        });
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .write_header()
            .and_then(|mut writer| writer.write_image_data(self.pixels))
            .map_err(|e| RecorderError::Encode(e.to_string()))?;
        Ok(Png {
            width: self.width,
            height: self.height,
            channels: self.channels,
            bytes,
        })
    }
}

/// An encoded PNG and what TensorBoard needs to know about it.
#[derive(Debug, Clone)]
// The dimensions are TensorBoard's; the files backend needs only the bytes.
#[cfg_attr(not(feature = "tensorboard"), allow(dead_code))]
pub(crate) struct Png {
    pub(crate) width: u32,
    pub(crate) height: u32,
    pub(crate) channels: u8,
    pub(crate) bytes: Vec<u8>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_a_valid_png() {
        let pixels = [255u8, 0, 0, 0, 255, 0, 0, 0, 255, 9, 9, 9];
        let png = Image::rgb(2, 2, &pixels).unwrap().to_png().unwrap();
        assert_eq!(&png.bytes[..8], b"\x89PNG\r\n\x1a\n");
        let decoder = png::Decoder::new(std::io::Cursor::new(&png.bytes));
        let mut reader = decoder.read_info().unwrap();
        let mut out = vec![0; reader.output_buffer_size().unwrap()];
        reader.next_frame(&mut out).unwrap();
        assert_eq!(out, pixels);
    }

    #[test]
    fn wrong_sizes_are_errors_naming_the_numbers() {
        let err = Image::rgba(2, 2, &[0; 15]).unwrap_err().to_string();
        assert_eq!(err, "a 2×2 image with 4 channels needs 16 bytes, got 15");
        assert!(Image::gray(0, 1, &[]).is_err());
    }
}
