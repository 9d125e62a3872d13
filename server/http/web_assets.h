// The web page's files (server/http/web/), compiled into the binary by server/http/web/embed.cmake
// so trm-server needs no installed folder and fetches nothing at run time.
#pragma once

#include <cstddef>
#include <span>

namespace trm::server {

struct WebAsset {
  const char* path;          // "/" for index.html, else "/" + the file name.
  const char* content_type;  // "text/html; charset=utf-8", ...
  const unsigned char* data;
  size_t size;
};

std::span<const WebAsset> WebAssets();

}  // namespace trm::server
