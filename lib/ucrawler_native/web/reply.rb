# frozen_string_literal: true

require "json"

module UcrawlerNative
  class Web
    # Rack responses of the dashboard, each with the same protective headers.
    module Reply
      # The page talks only to its own API, is never framed (its buttons act) and sends no referrer out.
      SECURITY = {
        "X-Content-Type-Options" => "nosniff",
        "X-Frame-Options" => "DENY",
        "Referrer-Policy" => "same-origin",
        "Content-Security-Policy" => "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " \
                                     "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
      }.freeze
      NO_STORE = { "Cache-Control" => "no-store" }.freeze
      JSON_TYPE = "application/json"
      TEXT_TYPE = "text/plain; charset=utf-8"

      module_function

      def build(status, type, body, headers = {})
        [status, { **SECURITY, "Content-Type" => type, "Content-Length" => body.bytesize.to_s, **headers }, [body]]
      end

      def text(status, message, headers = {})
        build(status, TEXT_TYPE, message, NO_STORE.merge(headers))
      end

      # `body` is a Hash or an already generated JSON String.
      def json(status, body, headers = {})
        build(status, JSON_TYPE, body.is_a?(String) ? body : JSON.generate(body), NO_STORE.merge(headers))
      end

      def error(status, message, headers = {})
        json(status, { ok: false, error: message }, headers)
      end

      def redirect(location)
        [303, { **SECURITY, **NO_STORE, "Location" => location, "Content-Type" => TEXT_TYPE, "Content-Length" => "0" }, []]
      end

      def not_found(api:)
        api ? error(404, "not found") : text(404, "Not Found\n")
      end

      def method_not_allowed(allow)
        text(405, "Method Not Allowed\n", "Allow" => allow)
      end

      # HEAD: the GET answer's status and headers, no body.
      def head(response)
        [response[0], response[1], []]
      end
    end
  end
end
