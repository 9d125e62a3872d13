// The web page at / (server/http/web/): GET routes for its embedded files, with headers that keep
// it self-contained (a Content-Security-Policy allowing only this origin: no CDN, no inline
// script).
#pragma once

namespace httplib {
class Server;
}

namespace trm::server {

void RegisterWebPage(httplib::Server& routes);

}  // namespace trm::server
