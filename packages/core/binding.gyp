{
  "targets": [
    {
      "target_name": "sluice_crc32c",
      "sources": ["native/crc32c.c"],
      "cflags": ["-O3", "-std=c11"],
      "xcode_settings": { "OTHER_CFLAGS": ["-O3"] }
    }
  ]
}
