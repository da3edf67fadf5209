# frozen_string_literal: true

require "cgi"
require "digest"

module UcrawlerNative
  class Web
    # The UI's static files (lib/ucrawler_native/web/assets, also compiled into the `ucrawler`
    # binary): index.html with its {{base}} and {{csrf_token}} filled in, app.js and app.css.
    module Assets
      DIR = File.expand_path("assets", __dir__)
      TYPES = {
        "app.js" => "application/javascript; charset=utf-8",
        "app.css" => "text/css; charset=utf-8"
      }.freeze
      HTML_TYPE = "text/html; charset=utf-8"
      PLACEHOLDER = /\{\{(base|csrf_token)\}\}/
      INDEX = File.read(File.join(DIR, "index.html"), encoding: "UTF-8").freeze
      # name => [body, ETag]. Not fingerprinted: browsers revalidate (no-cache), a 304 costs nothing.
      FILES = TYPES.keys.to_h do |name|
        body = File.read(File.join(DIR, name), encoding: "UTF-8").freeze
        [name, [body, %("#{Digest::SHA256.hexdigest(body)[0, 16]}")]]
      end.freeze

      module_function

      # index.html for a dashboard mounted at `base` ("" at the root), both values HTML-escaped.
      def index(base:, token:)
        values = { "base" => base, "csrf_token" => token }
        body = INDEX.gsub(PLACEHOLDER) { CGI.escapeHTML(values.fetch(Regexp.last_match(1))) }
        Reply.build(200, HTML_TYPE, body, Reply::NO_STORE)
      end

      # The response for /assets/NAME, nil for an unknown NAME.
      def file(name, request)
        body, etag = FILES[name]
        return nil unless body

        headers = { "Cache-Control" => "no-cache", "ETag" => etag }
        return [304, { **Reply::SECURITY, **headers }, []] if request.get_header("HTTP_IF_NONE_MATCH") == etag

        Reply.build(200, TYPES.fetch(name), body, headers)
      end
    end
  end
end
