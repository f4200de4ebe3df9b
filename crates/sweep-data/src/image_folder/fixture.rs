//! Generated image folders in the Kaggle Medical MNIST layout: one
//! sub-folder per class of small grayscale JPEGs. Tests and CI use them in
//! place of the real images (which `sweep` does not redistribute), and users
//! can try an image-folder experiment before they have data.
//!
//! Each class draws concentric rings of its own spacing around a jittered
//! centre, plus noise; the spacing survives rotation, shift and zoom, so a
//! small CNN with augmentation learns the classes in an epoch or two.

use std::path::Path;

use image::{GrayImage, Luma};

use crate::rng::Rng;

/// The six modality folders of Medical MNIST, in their sorted order.
pub const MEDICAL_MNIST_CLASSES: [&str; 6] =
    ["AbdomenCT", "BreastMRI", "CXR", "ChestCT", "Hand", "HeadCT"];

/// Writes `per_class` JPEGs of `size` × `size` pixels into one sub-folder
/// of `dir` per class (created as needed), named `000000.jpeg`, ...
/// The same arguments always write the same images.
pub fn write_class_folders(
    dir: &Path,
    classes: &[&str],
    per_class: usize,
    size: u32,
    seed: u64,
) -> std::io::Result<()> {
    for (c, class) in classes.iter().enumerate() {
        let folder = dir.join(class);
        std::fs::create_dir_all(&folder)?;
        let mut rng = Rng::derive(seed, &[c as u64]);
        for i in 0..per_class {
            let image = draw(c, size, &mut rng);
            image
                .save_with_format(
                    folder.join(format!("{i:06}.jpeg")),
                    image::ImageFormat::Jpeg,
                )
                .map_err(std::io::Error::other)?;
        }
    }
    Ok(())
}

fn draw(class: usize, size: u32, rng: &mut Rng) -> GrayImage {
    let s = size as f32;
    let spacing = s * (0.06 + 0.035 * class as f32);
    let cx = s * rng.range_f32(0.4, 0.6);
    let cy = s * rng.range_f32(0.4, 0.6);
    let brightness = rng.range_f32(0.7, 1.0);
    GrayImage::from_fn(size, size, |x, y| {
        let r = ((x as f32 - cx).powi(2) + (y as f32 - cy).powi(2)).sqrt();
        let ring = 0.5 + 0.5 * (std::f32::consts::TAU * r / spacing).cos();
        let noise = rng.range_f32(-0.15, 0.15);
        let v = (brightness * ring + noise).clamp(0.0, 1.0);
        Luma([(v * 255.0) as u8])
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::image_folder::{
        ImageFolderDef, Labelling, RatioSplit, discover_classes, ensure_decoded,
        folder_fingerprint, load_decoded, split,
    };

    fn def(classes: Vec<String>, size: u32, channels: u8) -> ImageFolderDef {
        ImageFolderDef {
            name: "medical_mnist".into(),
            labelling: Labelling::ClassFolders,
            classes,
            size,
            channels,
            split: RatioSplit::default(),
        }
    }

    #[test]
    fn a_generated_folder_decodes_caches_and_splits() {
        let data = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        write_class_folders(data.path(), &MEDICAL_MNIST_CLASSES, 20, 64, 1).unwrap();
        let classes = discover_classes(data.path(), &Labelling::ClassFolders).unwrap();
        assert_eq!(classes, MEDICAL_MNIST_CLASSES);
        let def = def(classes, 32, 1);
        let print = folder_fingerprint(data.path(), &def, None).unwrap();
        let file = ensure_decoded(data.path(), &def, &print, cache.path()).unwrap();
        let all = load_decoded(&file, &def).unwrap();
        assert_eq!((all.n, all.height, all.channels), (120, 32, 1));
        assert_eq!(all.class_counts(6), [20; 6]);
        // Decoded pixels carry the drawing, not a blank image.
        assert!(all.image(0).iter().any(|&p| p > 150));
        assert!(all.image(0).iter().any(|&p| p < 100));

        // Cached: a second call does not decode (the folder may even be gone).
        let stamp = std::fs::metadata(&file).unwrap().modified().unwrap();
        let moved = data.path().with_extension("moved");
        std::fs::rename(data.path(), &moved).unwrap();
        assert_eq!(
            ensure_decoded(data.path(), &def, &print, cache.path()).unwrap(),
            file
        );
        assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), stamp);
        std::fs::rename(&moved, data.path()).unwrap();

        let parts = split(all, &def);
        assert_eq!((parts.train.n, parts.val.n, parts.test.n), (84, 18, 18));

        // Three channels and another size: another cache file, RGB pixels.
        let rgb = ImageFolderDef {
            channels: 3,
            size: 16,
            ..def.clone()
        };
        let rgb_file = ensure_decoded(data.path(), &rgb, &print, cache.path()).unwrap();
        assert_ne!(rgb_file, file);
        assert_eq!(load_decoded(&rgb_file, &rgb).unwrap().channels, 3);
        assert!(
            load_decoded(&rgb_file, &def)
                .unwrap_err()
                .contains("expected (N, 32, 32, 1)")
        );
    }

    #[test]
    fn corrupt_images_are_all_named_and_nothing_is_cached() {
        let data = tempfile::tempdir().unwrap();
        let cache = tempfile::tempdir().unwrap();
        write_class_folders(data.path(), &["a", "b"], 3, 16, 0).unwrap();
        std::fs::write(data.path().join("a/broken.jpg"), b"not a jpeg at all").unwrap();
        let jpeg = std::fs::read(data.path().join("b/000000.jpeg")).unwrap();
        std::fs::write(
            data.path().join("b/truncated.jpeg"),
            &jpeg[..jpeg.len() / 3],
        )
        .unwrap();
        let def = def(vec!["a".into(), "b".into()], 16, 1);
        let print = folder_fingerprint(data.path(), &def, None).unwrap();
        let err = ensure_decoded(data.path(), &def, &print, cache.path()).unwrap_err();
        assert!(err.contains("2 images could not be decoded"), "{err}");
        assert!(err.contains("a/broken.jpg"), "{err}");
        assert!(err.contains("b/truncated.jpeg"), "{err}");
        assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
    }

    #[test]
    fn generation_is_deterministic() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write_class_folders(a.path(), &["x", "y"], 2, 16, 9).unwrap();
        write_class_folders(b.path(), &["x", "y"], 2, 16, 9).unwrap();
        let def = def(vec!["x".into(), "y".into()], 16, 1);
        assert_eq!(
            folder_fingerprint(a.path(), &def, None).unwrap(),
            folder_fingerprint(b.path(), &def, None).unwrap()
        );
    }
}
