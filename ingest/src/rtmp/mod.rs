//! RTMP (Adobe RTMP spec 1.0, Enhanced RTMP v1/v2) server side.
