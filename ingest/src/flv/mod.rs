//! FLV tag bodies (Adobe FLV spec v10.1 §E.4.2, §E.4.3; Enhanced RTMP v1/v2).
