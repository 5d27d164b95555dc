//! VOD on the origin: asset files on disk and how they are served.
//!
//! - [`paths`]: `/vod/{asset}/…` URLs and the asset directory layout;
//! - [`files`]: serving those files through the delivery pipeline;
//! - [`store`]: writing them (temporary name, then rename);
//! - [`live_recording`]: live to VOD, recording a channel while it is live.

pub mod files;
pub mod live_recording;
pub mod paths;
pub mod store;
