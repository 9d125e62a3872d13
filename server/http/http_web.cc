#include "server/http/http_web.h"

#include <httplib.h>

#include "server/http/web_assets.h"

namespace trm::server {

void RegisterWebPage(httplib::Server& routes) {
  for (const WebAsset& asset : WebAssets()) {
    // Route patterns are regular expressions; the file names hold a '.' at most.
    std::string pattern;
    for (const char* c = asset.path; *c != '\0'; ++c) {
      if (*c == '.') pattern += '\\';
      pattern += *c;
    }
    routes.Get(pattern, [&asset](const httplib::Request&, httplib::Response& res) {
      res.set_header("Content-Security-Policy",
                     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' "
                     "data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
                     "frame-ancestors 'none'");
      res.set_header("X-Content-Type-Options", "nosniff");
      res.set_header("Referrer-Policy", "no-referrer");
      res.set_header("Cache-Control", "no-cache");
      res.set_content(reinterpret_cast<const char*>(asset.data), asset.size, asset.content_type);
    });
  }
}

}  // namespace trm::server
