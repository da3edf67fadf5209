# frozen_string_literal: true

require "openssl"
require "securerandom"

module UcrawlerNative
  class Web
    # Stateless CSRF protection: the token is HMAC-SHA256(secret, "ucrawler-dashboard") in hex,
    # embedded in the page; every POST must carry it (header X-CSRF-Token or form field
    # csrf_token), and a POST whose Origin header names another origin is refused too. Another
    # site can neither read the page (no CORS) nor make a browser send a matching Origin.
    module Csrf
      MESSAGE = "ucrawler-dashboard"
      HEADER = "HTTP_X_CSRF_TOKEN"
      FIELD = "csrf_token"
      WRONG_TOKEN = "CSRF token missing or wrong"
      FORM_TYPES = %w[application/x-www-form-urlencoded multipart/form-data].freeze
      # Made when the gem loads: before a preloading server forks, so its workers share it.
      PROCESS_SECRET = SecureRandom.bytes(32).freeze

      module_function

      def token(secret)
        OpenSSL::HMAC.hexdigest("SHA256", secret, MESSAGE)
      end

      # Rails' secret_key_base when a Rails application is loaded, else this process's.
      def default_secret
        rails_secret || PROCESS_SECRET
      end

      # nil when the POST may go on, else the 403 response.
      def refusal(request, secret:)
        given = request.get_header(HEADER) || form_token(request)
        unless given.is_a?(String) && Rack::Utils.secure_compare(given, token(secret))
          return Reply.error(403, WRONG_TOKEN)
        end

        origin = request.get_header("HTTP_ORIGIN")
        return nil if origin.nil? || origin == request.base_url

        Reply.error(403, "Origin #{origin} is not this dashboard's (#{request.base_url})")
      end

      def form?(request)
        FORM_TYPES.include?(request.media_type)
      end

      def form_token(request)
        return nil unless form?(request)

        request.POST[FIELD]
      rescue StandardError # a malformed body carries no token
        nil
      end

      def rails_secret
        return nil unless defined?(::Rails) && ::Rails.respond_to?(:application) && ::Rails.application

        secret = ::Rails.application.secret_key_base
        secret.is_a?(String) && !secret.empty? ? secret : nil
      rescue StandardError # no secret_key_base configured: the process secret does
        nil
      end
    end
  end
end
