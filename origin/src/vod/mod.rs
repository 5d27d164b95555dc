//! VOD on the origin: asset files on disk and how they are served.
//!
//! - [`paths`]: `/vod/{asset}/…` URLs and the asset directory layout;
//! - [`files`]: serving those files through the delivery pipeline.

pub mod files;
pub mod paths;
