# frozen_string_literal: true

require "digest"

module UcrawlerNative
  class Web
    # Who may use the dashboard. Nobody until the app configures it (see Web): the data and the
    # actions of a crawler fleet are never public by accident.
    module Access
      LOCKED = "UcrawlerNative::Web is locked: configure access (see README)\n"
      FORBIDDEN = "Forbidden\n"
      UNAUTHORIZED = "Authentication required\n"
      CHALLENGE = 'Basic realm="ucrawler dashboard", charset="UTF-8"'

      module_function

      # nil when `request` may go on, else the Rack response refusing it. `rule` is nil (locked),
      # :routes, [:authorize, block] or [:basic_auth, user digest, password digest].
      def refusal(rule, request)
        case rule
        in nil then Reply.text(403, LOCKED)
        in :routes then nil
        in [:authorize, block] then block.call(request) ? nil : Reply.text(403, FORBIDDEN)
        in [:basic_auth, user, password] then basic_auth(request, user: user, password: password)
        end
      end

      # Compared as SHA-256 digests: equal lengths, so secure_compare's time says nothing either.
      def digest(value)
        Digest::SHA256.digest(value)
      end

      def basic_auth(request, user:, password:)
        auth = Rack::Auth::Basic::Request.new(request.env)
        if auth.provided? && auth.basic? && auth.credentials&.size == 2
          given_user, given_password = auth.credentials
          # Both compared, whatever the first gives: the time does not tell which one was wrong.
          user_ok = Rack::Utils.secure_compare(digest(given_user), user)
          password_ok = Rack::Utils.secure_compare(digest(given_password), password)
          return nil if user_ok & password_ok
        end
        Reply.text(401, UNAUTHORIZED, "WWW-Authenticate" => CHALLENGE)
      end
    end
  end
end
