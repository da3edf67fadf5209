# frozen_string_literal: true

module UcrawlerNative
  class Web
    # Routes a request (paths relative to the mount point, SCRIPT_NAME): access first, for
    # every route; then CSRF for every POST; then the page, its assets, the API.
    module Router
      ACTION = %r{\A/api/crawls/([^/]+)/(#{Api::ACTIONS.join("|")})\z}
      ASSET = %r{\A/assets/([^/]+)\z}
      READ = %w[GET HEAD].freeze

      module_function

      def call(env, settings:)
        request = Rack::Request.new(env)
        refusal = Access.refusal(settings.access_rule, request)
        return refusal if refusal

        path = request.path_info
        path = "/" if path.empty?
        if request.post?
          refusal = Csrf.refusal(request, secret: settings.secret)
          return refusal if refusal
        end
        path.match?(ACTION) ? action(request, path, settings) : read(request, path, settings)
      end

      def read(request, path, settings)
        handler = read_handler(path)
        return Reply.not_found(api: path.start_with?("/api/")) unless handler
        return Reply.method_not_allowed("GET, HEAD") unless READ.include?(request.request_method)

        response = handler.call(request, settings)
        request.head? ? Reply.head(response) : response
      end

      # What answers a GET of `path`, nil when nothing does.
      def read_handler(path)
        case path
        when "/"
          ->(request, settings) { Assets.index(base: request.script_name, token: Csrf.token(settings.secret)) }
        when "/api/overview.json"
          ->(_request, settings) { Api.overview(redis: settings.redis, prefix: settings.redis_prefix) }
        when ASSET
          name = Regexp.last_match(1)
          ->(request, _settings) { Assets.file(name, request) } if Assets::FILES.key?(name)
        end
      end

      def action(request, path, settings)
        return Reply.method_not_allowed("POST") unless request.post?

        encoded, action = path.match(ACTION).captures
        name = Rack::Utils.unescape_path(encoded).dup.force_encoding(Encoding::UTF_8)
        return Reply.error(400, "the crawl name is not valid UTF-8") unless name.valid_encoding?

        status, body = Api.action(redis: settings.redis, prefix: settings.redis_prefix, name: name, action: action)
        # A plain form post (no JS) goes back to the page; JS and API clients get the JSON.
        return Reply.redirect("#{request.script_name}/") if status == 200 && Csrf.form?(request)

        Reply.json(status, body)
      end
    end
  end
end
