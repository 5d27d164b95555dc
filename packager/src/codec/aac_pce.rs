//! AAC `program_config_element()` (ISO/IEC 14496-3 §4.4.1.1, Table 4.2), walked only to
//! count output channels when `channelConfiguration` is 0.

use super::bitreader::BitReader;
use super::CodecError;

const CODEC: &str = "AAC PCE";

/// Counts the channels a PCE describes: one per single channel element, two per
/// channel pair element, plus LFEs. Reads through the comment field.
pub(crate) fn channels_from_pce(r: &mut BitReader<'_>) -> Result<u16, CodecError> {
    let e = |what| CodecError::bits(CODEC, what);
    r.skip(4 + 2 + 4).map_err(e(
        "element_instance_tag, object_type, sampling_frequency_index",
    ))?;
    let front = r.bits32(4).map_err(e("num_front_channel_elements"))?;
    let side = r.bits32(4).map_err(e("num_side_channel_elements"))?;
    let back = r.bits32(4).map_err(e("num_back_channel_elements"))?;
    let lfe = r.bits32(2).map_err(e("num_lfe_channel_elements"))?;
    let assoc = r.bits32(3).map_err(e("num_assoc_data_elements"))?;
    let cc = r.bits32(4).map_err(e("num_valid_cc_elements"))?;
    for (what, len) in [
        ("mono_mixdown", 4),
        ("stereo_mixdown", 4),
        ("matrix_mixdown", 3),
    ] {
        if r.bit().map_err(e(what))? {
            r.skip(len).map_err(e(what))?;
        }
    }
    let mut channels = 0u16;
    for _ in 0..front + side + back {
        let is_cpe = r.bit().map_err(e("is_cpe"))?;
        r.skip(4).map_err(e("element_tag_select"))?;
        channels += if is_cpe { 2 } else { 1 };
    }
    channels += lfe as u16;
    r.skip(4 * (lfe + assoc) as usize + 5 * cc as usize)
        .map_err(e("element tags"))?;
    // byte_alignment() is relative to the AudioSpecificConfig start, which is where
    // the reader started.
    let pad = (8 - r.position() % 8) % 8;
    r.skip(pad).map_err(e("byte_alignment"))?;
    let comment = r.bits32(8).map_err(e("comment_field_bytes"))?;
    r.skip(8 * comment as usize)
        .map_err(e("comment_field_data"))?;
    if channels == 0 {
        return Err(CodecError::Invalid {
            codec: CODEC,
            what: "no channels",
        });
    }
    Ok(channels)
}
